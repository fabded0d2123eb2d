"""A fake Binance (spot) and OKX public REST API on 127.0.0.1, for ccxt's real request code.

One aiohttp server answers both APIs (their paths do not overlap), so a test points
both exchanges at ``fake.url``::

    async with FakeExchange() as fake:
        source = CryptoSource(("binance", "okx"), api_urls={"binance": fake.url, "okx": fake.url})
        fake.fail(BINANCE_TICKERS, "429")          # the next ticker request answers 429
        ...
        assert fake.requests[BINANCE_TICKERS] == 1

Endpoints (what ccxt 4.5 calls for spot market data):

* Binance ``/api/v3/exchangeInfo``, ``/api/v3/ticker/24hr?symbols=[...]``,
  ``/api/v3/klines?symbol&interval&startTime&endTime&limit`` (oldest first, max 1000).
* OKX ``/api/v5/public/instruments?instType=SPOT``, ``/api/v5/market/tickers?instType=SPOT``,
  ``/api/v5/market/candles`` and ``/history-candles`` ``?instId&bar&after&before&limit``
  (``before < ts < after``, newest first, max 300 / 100).

Prices: BTC candles are the real 2025 series in ``bot/data/market_2025`` (hourly and
daily), served up to :attr:`FakeExchange.now`; BTC's last price is the last hourly close
before ``now``. Other assets have fixed illustrative prices. Faults: see :data:`FAULTS`;
:meth:`FakeExchange.go_offline` and :meth:`FakeExchange.come_back` take the whole server off
the network and back on the same port (connections refused meanwhile, as when an exchange is
unreachable).
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import json
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

BINANCE_MARKETS = "/api/v3/exchangeInfo"
BINANCE_TICKERS = "/api/v3/ticker/24hr"
BINANCE_KLINES = "/api/v3/klines"
OKX_MARKETS = "/api/v5/public/instruments"
OKX_TICKERS = "/api/v5/market/tickers"
OKX_CANDLES = "/api/v5/market/candles"
OKX_HISTORY_CANDLES = "/api/v5/market/history-candles"

FAULTS = ("429", "418", "503", "500-html", "timeout", "truncated", "bad-symbol")
"""Injectable answers: status 429 / 418 / 503, a 500 with an HTML body, a slow answer,
status 200 with the JSON cut in half, or the exchange's "invalid symbol" error."""

NOW = datetime(2025, 11, 22, 14, 30, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[2] / "bot" / "data" / "market_2025"
STEP_MS = {"1h": 3_600_000, "1d": 86_400_000}
# Illustrative last prices (USD) for assets without a data file; BTC comes from the data.
OTHER_PRICES = {"ETH": 2_765.4, "SOL": 128.9, "OKB": 107.2}
BINANCE_PAIRS = (("BTC", "USDT"), ("BTC", "USDC"), ("BTC", "EUR"), ("ETH", "USDT"), ("ETH", "BTC"), ("SOL", "USDT"))
OKX_PAIRS = (("BTC", "USDT"), ("BTC", "USDC"), ("ETH", "USDT"), ("SOL", "USDT"), ("OKB", "USDT"))
FIAT_LIKE = {"USDT", "USDC", "USD", "EUR"}


@dataclass(frozen=True)
class Candle:
    ts: int
    open: str
    high: str
    low: str
    close: str
    volume: str


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def load_candles() -> dict[str, list[Candle]]:
    """The real BTC series: ``{"1h": [...], "1d": [...]}``, oldest first."""
    with open(DATA / "BTC-USD_1h.csv", newline="") as f:
        hourly = [
            Candle(
                _ms(datetime.fromisoformat(r["timestamp_utc"].replace("Z", "+00:00"))),
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                r["volume_btc"],
            )
            for r in csv.DictReader(f)
        ]
    with open(DATA / "BTC-USD_1d.csv", newline="") as f:
        daily = [
            Candle(
                _ms(datetime.fromisoformat(r["date"]).replace(tzinfo=UTC)),
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                r["volume"],
            )
            for r in csv.DictReader(f)
        ]
    return {"1h": hourly, "1d": daily}


class FakeExchange:
    """Serves both APIs; counts requests per path and answers with injected faults on demand."""

    def __init__(self, now: datetime = NOW, *, slow_seconds: float = 5.0) -> None:
        self.now = now
        self.slow_seconds = slow_seconds
        self.candles = load_candles()
        self.prices: dict[str, float] = dict(OTHER_PRICES)
        self.served: dict[tuple[str, str], Any] = {}
        """Raw last price served for ``(exchange, base)``, e.g. ``("binance", "BTC"): None``."""
        self.spoiled: set[int] = set()
        """Candle start times (ms) served as a row of nulls."""
        self.wicks: dict[tuple[str, int], str] = {}
        """Lows served by one exchange for a candle start time (ms): a one-venue wick."""
        self.requests: Counter[str] = Counter()
        self.queries: list[tuple[str, dict[str, str]]] = []
        self._faults: dict[str, deque[str | None]] = defaultdict(deque)
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- control -------------------------------------------------------------------

    def fail(self, path: str, fault: str, times: int = 1, after: int = 0) -> None:
        """Answer ``times`` requests to ``path`` with ``fault`` (one of FAULTS), ``after`` good ones."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self._faults[path].extend([None] * after + [fault] * times)

    def set_price(self, base: str, value: Any, exchange: str | None = None) -> None:
        """Serve ``value`` (any JSON value, even None or "NaN") as ``base``'s last price."""
        for ex in (exchange,) if exchange else ("binance", "okx"):
            self.served[(ex, base)] = value

    def last_price(self, exchange: str, base: str) -> Any:
        if (exchange, base) in self.served:
            return self.served[(exchange, base)]
        if base == "BTC":
            return float(self._btc_close_before(_ms(self.now)))
        return self.prices[base]

    def queried(self, path: str) -> list[dict[str, str]]:
        """Query strings of every request to ``path``, in order."""
        return [query for p, query in self.queries if p == path]

    async def start(self, port: int = 0) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(BINANCE_MARKETS, self._binance_markets)
        app.router.add_get(BINANCE_TICKERS, self._binance_tickers)
        app.router.add_get(BINANCE_KLINES, self._binance_klines)
        app.router.add_get(OKX_MARKETS, self._okx_markets)
        app.router.add_get(OKX_TICKERS, self._okx_tickers)
        app.router.add_get(OKX_CANDLES, self._okx_candles)
        app.router.add_get(OKX_HISTORY_CANDLES, self._okx_candles)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._release.set()  # let slow answers finish now
        if self._runner is not None:
            await self._runner.cleanup()

    async def go_offline(self) -> None:
        """Stop answering: the port refuses connections until :meth:`come_back`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def come_back(self) -> None:
        """Listen again on the same port (``url`` is unchanged)."""
        if self._runner is None:
            await self.start(int(self.url.rsplit(":", 1)[1]))

    async def __aenter__(self) -> FakeExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- faults ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        self.queries.append((path, dict(request.query)))
        fault = self._faults[path].popleft() if self._faults[path] else None
        okx = path.startswith("/api/v5/")
        if fault == "429":
            body = (
                {"code": "50011", "msg": "Too Many Requests", "data": []}
                if okx
                else {
                    "code": -1003,
                    "msg": "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute.",
                }
            )
            return web.json_response(body, status=429)
        if fault == "418":
            return web.json_response({"code": -1003, "msg": "Way too much request weight used; IP banned."}, status=418)
        if fault == "503":
            return web.Response(status=503, text="Service Unavailable")
        if fault == "500-html":
            return web.Response(
                status=500,
                content_type="text/html",
                text="<html><body><h1>500 Internal Server Error</h1></body></html>",
            )
        if fault == "bad-symbol":
            if okx:
                return web.json_response({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        if fault == "timeout":
            try:
                await asyncio.wait_for(self._release.wait(), self.slow_seconds)
            except TimeoutError:
                pass
        response = await handler(request)
        if fault == "truncated" and isinstance(response, web.Response) and response.body:
            body = bytes(response.body)  # type: ignore[arg-type]
            return web.Response(body=body[: len(body) // 2], content_type="application/json")
        return response

    # -- Binance -------------------------------------------------------------------

    async def _binance_markets(self, request: web.Request) -> web.Response:
        symbols = [
            {
                "symbol": base + quote,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "icebergAllowed": True,
                "ocoAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
                ],
                "permissions": ["SPOT"],
            }
            for base, quote in BINANCE_PAIRS
        ]
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": _ms(self.now),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    async def _binance_tickers(self, request: web.Request) -> web.Response:
        ids = {base + quote: (base, quote) for base, quote in BINANCE_PAIRS}
        wanted = json.loads(request.query["symbols"]) if "symbols" in request.query else list(ids)
        if any(w not in ids for w in wanted):
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        now = _ms(self.now)
        tickers = []
        for market_id in wanted:
            base, quote = ids[market_id]
            last = self._pair_price("binance", base, quote)
            open_ = self._pair_open(base, quote)
            tickers.append(
                {
                    "symbol": market_id,
                    "priceChange": _num(_minus(last, open_)),
                    "priceChangePercent": _num(_pct(last, open_)),
                    "weightedAvgPrice": _num(open_),
                    "prevClosePrice": _num(open_),
                    "lastPrice": _num(last),
                    "lastQty": "0.01",
                    "bidPrice": _num(last),
                    "bidQty": "1.5",
                    "askPrice": _num(last),
                    "askQty": "0.8",
                    "openPrice": _num(open_),
                    "highPrice": _num(last),
                    "lowPrice": _num(open_),
                    "volume": "12345.6",
                    "quoteVolume": "1000000000.0",
                    "openTime": now - 86_400_000,
                    "closeTime": now,
                    "firstId": 1,
                    "lastId": 2,
                    "count": 2,
                }
            )
        return web.json_response(tickers)

    async def _binance_klines(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("symbol") not in {base + quote for base, quote in BINANCE_PAIRS}:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        interval = q.get("interval", "")
        if interval not in STEP_MS:
            return web.json_response({"code": -1120, "msg": "Invalid interval."}, status=400)
        limit = min(int(q.get("limit", 500)), 1000)
        start, end = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        rows = [c for c in self._series(q["symbol"], interval) if start <= c.ts <= end][:limit]
        step = STEP_MS[interval]
        return web.json_response(
            [
                self._row(
                    c,
                    [c.ts, c.open, c.high, c.low, c.close, c.volume, c.ts + step - 1, "0", 100, "0", "0", "0"],
                    "binance",
                )
                for c in rows
            ]
        )

    # -- OKX -----------------------------------------------------------------------

    async def _okx_markets(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SPOT":
            return _okx([])
        return _okx(
            [
                {
                    "instType": "SPOT",
                    "instId": f"{base}-{quote}",
                    "baseCcy": base,
                    "quoteCcy": quote,
                    "settleCcy": "",
                    "ctVal": "",
                    "ctMult": "",
                    "ctValCcy": "",
                    "ctType": "",
                    "lever": "10",
                    "listTime": "1548133413000",
                    "lotSz": "0.00000001",
                    "minSz": "0.00001",
                    "tickSz": "0.1",
                    "maxLmtSz": "9999999999",
                    "maxMktSz": "1000000",
                    "state": "live",
                    "uly": "",
                    "instFamily": "",
                    "alias": "",
                    "category": "1",
                    "expTime": "",
                    "optType": "",
                    "stk": "",
                }
                for base, quote in OKX_PAIRS
            ]
        )

    async def _okx_tickers(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SPOT":
            return _okx([])
        now = str(_ms(self.now))
        data = []
        for base, quote in OKX_PAIRS:
            last, open_ = self._pair_price("okx", base, quote), self._pair_open(base, quote)
            data.append(
                {
                    "instType": "SPOT",
                    "instId": f"{base}-{quote}",
                    "last": _num(last),
                    "lastSz": "0.01",
                    "askPx": _num(last),
                    "askSz": "1",
                    "bidPx": _num(last),
                    "bidSz": "1",
                    "open24h": _num(open_),
                    "high24h": _num(last),
                    "low24h": _num(open_),
                    "volCcy24h": "1000000000",
                    "vol24h": "12000",
                    "ts": now,
                    "sodUtc0": _num(open_),
                    "sodUtc8": _num(open_),
                }
            )
        return _okx(data)

    async def _okx_candles(self, request: web.Request) -> web.Response:
        q = request.query
        inst = q.get("instId", "")
        if inst not in {f"{base}-{quote}" for base, quote in OKX_PAIRS}:
            return web.json_response({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
        interval = {"1H": "1h", "1Dutc": "1d"}.get(q.get("bar", ""))
        if interval is None:
            return web.json_response({"code": "51000", "msg": "Parameter bar error", "data": []})
        cap = 100 if request.path == OKX_HISTORY_CANDLES else 300
        limit = min(int(q.get("limit", 100)), cap)
        after, before = int(q.get("after", 2**62)), int(q.get("before", -1))
        rows = [c for c in self._series(inst.replace("-", ""), interval) if before < c.ts < after]
        rows = sorted(rows, key=lambda c: c.ts, reverse=True)[:limit]
        now, step = _ms(self.now), STEP_MS[interval]
        return _okx(
            [
                self._row(
                    c,
                    [str(c.ts), c.open, c.high, c.low, c.close, c.volume, "0", "0", "1" if c.ts + step <= now else "0"],
                    "okx",
                )
                for c in rows
            ]
        )

    # -- data ----------------------------------------------------------------------

    def _series(self, market_id: str, interval: str) -> list[Candle]:
        """BTC candles started by ``now`` (the last one may still be open); none for others."""
        if not market_id.startswith("BTC") or market_id.removeprefix("BTC") not in FIAT_LIKE:
            return []
        now = _ms(self.now)
        return [c for c in self.candles[interval] if c.ts <= now]

    def _row(self, candle: Candle, row: list[Any], exchange: str) -> list[Any]:
        if candle.ts in self.spoiled:
            return [row[0], *([None] * (len(row) - 1))]
        if (exchange, candle.ts) in self.wicks:
            row[3] = self.wicks[(exchange, candle.ts)]  # the low: open, high, low, close on both APIs
        return row

    def _btc_close_before(self, ms: int) -> str:
        hourly = self.candles["1h"]
        done = bisect.bisect_right(hourly, ms - STEP_MS["1h"], key=lambda c: c.ts)  # candles closed by ``ms``
        return hourly[done - 1].close if done else "90000"

    def _pair_price(self, exchange: str, base: str, quote: str) -> Any:
        if quote in FIAT_LIKE:
            return self.last_price(exchange, base)
        try:  # a cross pair such as ETH/BTC
            return float(self.last_price(exchange, base)) / float(self.last_price(exchange, quote))
        except (TypeError, ValueError, ZeroDivisionError):
            return None

    def _pair_open(self, base: str, quote: str) -> float:
        """Price 24 h before ``now``: BTC's from the data, the others' 2 % below their table price."""
        if base == "BTC":
            return float(self._btc_close_before(_ms(self.now) - 86_400_000))
        return float(self._pair_price("table", base, quote)) / 1.02


def _okx(data: list[Any]) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def _num(value: Any) -> Any:
    """A price the way exchanges send it: a decimal string (None and odd strings as given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return f"{value:.8f}".rstrip("0").rstrip(".") if value == value else "NaN"


def _minus(a: Any, b: float) -> Any:
    return a - b if isinstance(a, (int, float)) else None


def _pct(a: Any, b: float) -> Any:
    return (a / b - 1) * 100 if isinstance(a, (int, float)) and b else None
