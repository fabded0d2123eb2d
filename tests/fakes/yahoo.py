"""A fake Yahoo Finance on 127.0.0.1, for running yfinance's real code offline.

yfinance hard-codes ``https://<host>.yahoo.com/...``; :class:`FakeYahooSession` (a
curl_cffi ``Session``, the type yfinance uses) rewrites those URLs to
``http://127.0.0.1:<port>/<host>.yahoo.com/<path>`` and :class:`FakeYahoo` answers
them from a ``ThreadingHTTPServer`` in its own thread (yfinance is synchronous
and fans out one request per ticker on its own threads).

Endpoints, with the shapes yfinance 1.7 parses:

* ``fc.yahoo.com`` (cookie), ``/v1/test/getcrumb`` (crumb), ``guce.yahoo.com/consent``
  (the fallback cookie strategy; no consent form here, so yfinance goes back to basic);
* ``/v8/finance/chart/{SYM}`` with ``range`` or ``period1``/``period2`` and
  ``interval`` 1d/1h/1m: ``meta`` + ``timestamp`` + ``indicators`` (daily bars
  stamped at the session's open, like Yahoo; intraday with ``tradingPeriods``);
* ``/v10/finance/quoteSummary/{SYM}?modules=calendarEvents`` (needs the crumb);
* ``finance.yahoo.com/calendar/earnings?symbol=`` (the HTML table
  ``get_earnings_dates`` scrapes).

Prices are real: daily rows come from ``bot/data/market_2025/{SYM}_1d.csv``.
Intraday bars are *derived* from each day's real OHLC: the price path runs
open → high → low → close across the session, so the first bar opens at the real
open, the last closes at the real close and the bars never leave the day's range.
Bars after :attr:`FakeYahoo.now` are not served; the bar in progress is partial.

Error injection: :attr:`rate_limited` (HTTP 429 everywhere), symbols missing from
the data or listed in :attr:`not_found` (Yahoo's real "No data found, symbol may be
delisted" 404), :attr:`empty` (a result without prices), :attr:`all_nan` (timestamps whose
values are null) and :attr:`broken` (every price chart answers ``"500"``: an HTTP 500 with
an HTML page, or ``"invalid-json"``: a 200 whose JSON is cut in half).
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from curl_cffi import requests as curl_requests

from bot.config import SHIPPED_REPLAY_DATA

NEW_YORK = ZoneInfo("America/New_York")
HALF_DAYS = {date(2025, 7, 3), date(2025, 11, 28), date(2025, 12, 24)}
CRUMB = "fakeCrumb.42"
UNKNOWN_SYMBOL = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
RANGE_SESSIONS = {"1d": 1, "5d": 5, "1mo": 21, "3mo": 63, "6mo": 126, "1y": 252}
EXCHANGES = {"ORCL": ("NYQ", "NYSE"), "QQQ": ("NGM", "NasdaqGM")}
ETFS = {"QQQ"}
STEP = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class DailyRow:
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def session(self) -> tuple[datetime, datetime]:
        """Open and close of this row's session, in UTC."""
        close = time(13, 0) if self.day in HALF_DAYS else time(16, 0)
        return (
            datetime.combine(self.day, time(9, 30), NEW_YORK).astimezone(UTC),
            datetime.combine(self.day, close, NEW_YORK).astimezone(UTC),
        )

    def path(self, t: float) -> float:
        """Price at fraction ``t`` of the session: open → high → low → close."""
        points = ((0.0, self.open), (1 / 3, self.high), (2 / 3, self.low), (1.0, self.close))
        for (t0, p0), (t1, p1) in itertools.pairwise(points):
            if t <= t1:
                return p0 + (p1 - p0) * (t - t0) / (t1 - t0)
        return self.close

    def segment(self, start: datetime, end: datetime) -> tuple[float, float, float, float, float]:
        """OHLCV of the part of this session between ``start`` and ``end``."""
        opened, closed = self.session
        length = (closed - opened).total_seconds()
        t0 = max(0.0, (start - opened).total_seconds() / length)
        t1 = min(1.0, (end - opened).total_seconds() / length)
        inside = [t for t in (1 / 3, 2 / 3) if t0 < t < t1]
        values = [self.path(t) for t in (t0, *inside, t1)]
        return values[0], max(values), min(values), values[-1], round(self.volume * (t1 - t0))


def load_daily(symbol: str, data_dir: Path = SHIPPED_REPLAY_DATA) -> list[DailyRow]:
    with (data_dir / f"{symbol}_1d.csv").open(newline="") as handle:
        columns = ("open", "high", "low", "close", "volume")
        rows = csv.DictReader(handle)
        return [DailyRow(date.fromisoformat(r["date"]), *(float(r[k]) for k in columns)) for r in rows]


def load_earnings(data_dir: Path = SHIPPED_REPLAY_DATA) -> dict[str, list[datetime]]:
    """Report times in ``earnings_dates.csv``: after the close is 16:00, before the open 08:00 (New York)."""
    hours = {"after_close": time(16, 0), "before_open": time(8, 0)}
    found: dict[str, list[datetime]] = {}
    with (data_dir / "earnings_dates.csv").open(newline="") as handle:
        for r in csv.DictReader(handle):
            day = date.fromisoformat(r["report_date"])
            when = datetime.combine(day, hours.get(r["timing"], time(0)), NEW_YORK)
            found.setdefault(r["symbol"], []).append(when)
    return found


@dataclass(frozen=True, slots=True)
class SeenRequest:
    host: str
    path: str
    params: dict[str, str]

    @property
    def symbol(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class FakeYahoo:
    """The fake's state: what it serves, what it has seen, which failures to inject."""

    now: datetime = datetime(2025, 12, 11, 15, 0, tzinfo=UTC)
    symbols: tuple[str, ...] = ("NVDA", "AMD", "ORCL", "QQQ")
    rate_limited: bool = False
    empty: set[str] = field(default_factory=set)
    all_nan: set[str] = field(default_factory=set)
    not_found: set[str] = field(default_factory=set)
    broken: str | None = None  # "500" or "invalid-json": how every price chart answers
    requests: list[SeenRequest] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    extended: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    """Pre-market and after-hours trades per symbol, in 1-minute charts asked ``includePrePost=true``."""

    def __post_init__(self) -> None:
        self.daily = {s: load_daily(s) for s in self.symbols}
        self.earnings_page = load_earnings()
        self.calendar_events = {s: list(d) for s, d in self.earnings_page.items()}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeYahoo:
        fake = self

        class Handler(_Handler):
            yahoo = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fake-yahoo"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def session(self) -> FakeYahooSession:
        return FakeYahooSession(self.base_url)

    # -- what was asked ----------------------------------------------------------------

    def chart_requests(self) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/v8/finance/chart/")]

    def price_requests(self, interval: str) -> list[SeenRequest]:
        """Chart requests for prices at ``interval`` (not yfinance's time-zone lookups)."""
        return [
            r for r in self.chart_requests() if r.params.get("interval") == interval and r.params.get("range") != "1d"
        ]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- routing -----------------------------------------------------------------------

    def handle(self, host: str, path: str, params: dict[str, str]) -> tuple[int, str, str]:
        with self._lock:
            self.requests.append(SeenRequest(host, path, params))
        if self.rate_limited:
            return 429, "text/plain", "Too Many Requests\r\n"
        if host == "fc.yahoo.com":
            return 404, "text/html", "<html><body>fake cookie</body></html>"
        if host == "guce.yahoo.com":
            return 200, "text/html", "<html><body>no consent form here</body></html>"
        if path == "/v1/test/getcrumb":
            return 200, "text/plain", CRUMB
        if path.startswith("/v8/finance/chart/"):
            return self.chart(path.rsplit("/", 1)[-1].upper(), params)
        if path.startswith("/v10/finance/quoteSummary/"):
            return self.quote_summary(path.rsplit("/", 1)[-1].upper(), params)
        if path.startswith("/ws/fundamentals-timeseries/"):  # part of .info, asked for unknown tickers
            result = [{"meta": {"symbol": [path.rsplit("/", 1)[-1]], "type": [params.get("type", "")]}}]
            return 200, "application/json", json.dumps({"timeseries": {"result": result, "error": None}})
        if path == "/v7/finance/quote":
            return 200, "application/json", json.dumps({"quoteResponse": {"result": [], "error": None}})
        if host == "finance.yahoo.com" and path == "/calendar/earnings":
            return 200, "text/html", self.earnings_html(params.get("symbol", "").upper())
        with self._lock:
            self.unexpected.append(f"{host}{path}")
        return 404, "text/plain", "not faked"

    # -- chart -------------------------------------------------------------------------

    def _sessions(self, symbol: str, params: dict[str, str]) -> list[DailyRow]:
        started = [r for r in self.daily[symbol] if r.session[0] <= self.now]
        if "range" in params:
            count = RANGE_SESSIONS.get(params["range"], len(started))
            return started[-count:]
        first = datetime.fromtimestamp(int(params.get("period1", 0)), UTC)
        last = datetime.fromtimestamp(int(params.get("period2", 2**31)), UTC)
        return [r for r in started if r.session[1] > first and r.session[0] < last]

    def _bars(self, symbol: str, interval: str, params: dict[str, str]) -> list[tuple[datetime, tuple]]:
        rows = self._sessions(symbol, params)
        if interval == "1d":
            return [(r.session[0], r.segment(r.session[0], min(self.now, r.session[1]))) for r in rows]
        first = datetime.fromtimestamp(int(params.get("period1", 0)), UTC)
        last = datetime.fromtimestamp(int(params.get("period2", 2**31)), UTC)
        bars = []
        for row in rows:
            opened, closed = row.session
            start = opened
            while start < closed and start < self.now:
                end = min(start + STEP[interval], closed, self.now)
                if first <= start < last:
                    bars.append((start, row.segment(start, end)))
                start += STEP[interval]
        if interval == "1m" and params.get("includePrePost") == "true":
            for ts, price in self.extended.get(symbol, ()):
                if first <= ts < last and ts <= self.now:
                    bars.append((ts, (price, price, price, price, 1_000)))
            bars.sort(key=lambda bar: bar[0])
        return bars

    def _meta(self, symbol: str, interval: str, rows: list[DailyRow], params: dict[str, str]) -> dict[str, Any]:
        offset = int(self.now.astimezone(NEW_YORK).utcoffset().total_seconds())
        zone = self.now.astimezone(NEW_YORK).tzname()
        current = rows[-1] if rows else self.daily[symbol][-1]
        opened, closed = current.session

        def period(start: datetime, end: datetime) -> dict[str, Any]:
            start_s, end_s = int(start.timestamp()), int(end.timestamp())
            return {"timezone": zone, "start": start_s, "end": end_s, "gmtoffset": offset}

        exchange, full_name = EXCHANGES.get(symbol, ("NMS", "NasdaqGS"))
        meta: dict[str, Any] = {
            "currency": "USD",
            "symbol": symbol,
            "exchangeName": exchange,
            "fullExchangeName": full_name,
            "instrumentType": "ETF" if symbol in ETFS else "EQUITY",
            "firstTradeDate": 511108200,
            "regularMarketTime": int(min(self.now, closed).timestamp()),
            "hasPrePostMarketData": True,
            "gmtoffset": offset,
            "timezone": zone,
            "exchangeTimezoneName": "America/New_York",
            "regularMarketPrice": current.segment(opened, min(self.now, closed))[3],
            "chartPreviousClose": self.daily[symbol][0].close,
            "priceHint": 2,
            "currentTradingPeriod": {
                "pre": period(opened - timedelta(hours=5, minutes=30), opened),
                "regular": period(opened, closed),
                "post": period(closed, closed + timedelta(hours=4)),
            },
            "dataGranularity": interval,
            "range": params.get("range", ""),
            "validRanges": VALID_RANGES,
        }
        if interval != "1d":
            meta["tradingPeriods"] = [[period(*r.session)] for r in rows]
        return meta

    def chart(self, symbol: str, params: dict[str, str]) -> tuple[int, str, str]:
        if self.broken == "500":
            return 500, "text/html", "<html><body><h1>500 Internal Server Error</h1></body></html>"
        if symbol not in self.daily or symbol in self.not_found:
            return 404, "application/json", json.dumps({"chart": {"result": None, "error": UNKNOWN_SYMBOL}})
        interval = params.get("interval", "1d")
        if interval not in ("1d", *STEP):
            error = {"code": "Bad Request", "description": f"Invalid interval {interval}"}
            return 400, "application/json", json.dumps({"chart": {"result": None, "error": error}})
        rows = self._sessions(symbol, params)
        result: dict[str, Any] = {"meta": self._meta(symbol, interval, rows, params)}
        bars = [] if symbol in self.empty else self._bars(symbol, interval, params)
        if not bars:
            result["indicators"] = {"quote": [{}]}
        else:
            columns = list(zip(*(values for _, values in bars), strict=True))
            if symbol in self.all_nan:
                columns = [[None] * len(bars) for _ in columns]
            names = ("open", "high", "low", "close", "volume")
            quote = dict(zip(names, (list(c) for c in columns), strict=True))
            result["timestamp"] = [int(ts.timestamp()) for ts, _ in bars]
            result["indicators"] = {"quote": [quote]}
            if interval == "1d":
                result["indicators"]["adjclose"] = [{"adjclose": list(quote["close"])}]
        body = json.dumps({"chart": {"result": [result], "error": None}})
        if self.broken == "invalid-json":
            return 200, "application/json", body[: len(body) // 2]
        return 200, "application/json", body

    # -- earnings ----------------------------------------------------------------------

    def quote_summary(self, symbol: str, params: dict[str, str]) -> tuple[int, str, str]:
        if params.get("crumb") != CRUMB:
            error = {"code": "Unauthorized", "description": "Invalid Crumb"}
            return 401, "application/json", json.dumps({"finance": {"result": None, "error": error}})
        if symbol not in self.daily:
            error = {"code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}
            return 404, "application/json", json.dumps({"quoteSummary": {"result": None, "error": error}})
        modules: dict[str, Any] = {}
        if "calendarEvents" in params.get("modules", ""):
            stamps = [int(d.timestamp()) for d in self.calendar_events.get(symbol, [])]
            modules["calendarEvents"] = {
                "maxAge": 1,
                "earnings": {
                    "earningsDate": stamps,
                    "earningsCallDate": stamps,
                    "isEarningsDateEstimate": len(stamps) > 1,
                },
            }
        return 200, "application/json", json.dumps({"quoteSummary": {"result": [modules], "error": None}})

    def earnings_html(self, symbol: str) -> str:
        dates = self.earnings_page.get(symbol) if symbol in self.daily else None
        if not dates:
            return "<html><body><p>We couldn't find any results.</p></body></html>"
        rows = "".join(
            f"<tr><td>{symbol}</td><td>{html.escape(symbol)} Inc.</td><td>{_yahoo_time(d)}</td>"
            "<td>-</td><td>-</td><td>-</td></tr>"
            for d in sorted(dates, reverse=True)
        )
        head = "".join(
            f"<th>{c}</th>"
            for c in ("Symbol", "Company", "Earnings Date", "EPS Estimate", "Reported EPS", "Surprise (%)")
        )
        return f"<html><body><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></body></html>"


def _yahoo_time(when: datetime) -> str:
    """``December 10, 2025 at 4 PM EST``: the format ``get_earnings_dates`` parses."""
    local = when.astimezone(NEW_YORK)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{local:%B} {local.day}, {local.year} at {hour} {half} {local.tzname()}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid a 40 ms stall each
    yahoo: FakeYahoo

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        host, _, rest = parts.path.lstrip("/").partition("/")
        params = dict(parse_qsl(parts.query))
        status, content_type, body = self.yahoo.handle(host, "/" + rest.rstrip("/"), params)
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if host == "fc.yahoo.com":
            self.send_header("Set-Cookie", "A3=d=fake; Max-Age=3600; Path=/")
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the fake's request log is :attr:`FakeYahoo.requests`."""


class FakeYahooSession(curl_requests.Session):
    """A curl_cffi Session that sends every ``https://*.yahoo.com`` request to the fake."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not (host == "yahoo.com" or host.endswith(".yahoo.com")):
            raise ValueError(f"FakeYahooSession only fakes *.yahoo.com, not {url!r}")
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}/{host}{parts.path or '/'}{query}"

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().request(method, self.rewrite(url), *args, **kwargs)


def reset_yfinance_state() -> None:
    """Forget yfinance's in-process response cache and crumb (both outlive a test)."""
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()
    data = YfData()
    data._crumb = None
    data._cookie = None
    data._cookie_strategy = "basic"
