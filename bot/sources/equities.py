"""US equity prices and earnings dates from Yahoo Finance, through yfinance.

Every yfinance call runs on a worker thread (``asyncio.to_thread``): yfinance is
synchronous and would block the event loop. Choices:

* **One batched** ``yf.download`` per poll for the whole watchlist (yfinance then
  asks Yahoo's chart API once per ticker, on its own threads).
* **Quotes use 1-minute bars** from the previous session's open: the last bar gives
  the price and ``Quote.ts`` to the minute (1-hour bars would stamp a 10:55 price
  10:30 and look stale); the previous session's last bar gives the previous close
  for ``change_24h_pct`` (the last trade before 16:00, within cents of the official
  close). At most two sessions, about 780 rows per ticker.
* **Prices as traded**: ``auto_adjust=False``, the ``Close`` column (split- but not
  dividend-adjusted), so levels match what a user sees on a quote screen.
* Daily bars are stamped 00:00 UTC of the trading date (today's is partial while the
  market is open); 1h bars come in New York time and are converted to UTC.

yfinance fails silently (empty frames, all-NaN columns, ``None``/``{}``, ERROR log
lines). Anything unusable becomes :class:`SourceUnavailable`; a single symbol Yahoo
says it does not know, :class:`UnknownSymbol`. yfinance's log lines are captured
(re-logged at DEBUG); a failed call logs one WARNING and records a short reason
("yfinance: rate limited") in the :class:`HealthRegistry`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance import data as yf_data
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

from bot.clock import Clock, SystemClock
from bot.domain import INTERVALS, Bar, EarningsDate, EarningsTiming, Interval, Quote
from bot.health import HealthRegistry
from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, as_utc, default_market_hours
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.sources.validate import JumpGuard, as_price, valid_ohlc

log = logging.getLogger(__name__)

SOURCE = "yfinance"
QUOTE_INTERVAL = "1m"  # not one of the protocol's Intervals: these bars never leave this module
HELD_BARS = 5  # a move past the jump limit is real once this many minute bars agree within 2 %
MAX_HOURLY_HISTORY = timedelta(days=729)  # Yahoo serves 1h bars for the last 730 days only
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / "btc-tech-alert-bot-yfinance"
_SYMBOL = re.compile(r"[A-Z0-9^][A-Z0-9.\-=^]{0,19}")
T = TypeVar("T")

# yfinance 1.7 on pandas 3 warns about its own use of ``inplace=`` on every call, and
# ``raise_errors=True`` (used by the symbol probe) is deprecated in favour of a global switch.
warnings.filterwarnings("ignore", message="The inplace keyword", module="yfinance")
warnings.filterwarnings("ignore", message="'raise_errors' deprecated", category=DeprecationWarning)


class _YahooLog(logging.Filter):
    """Stops yfinance's log lines: kept for the thread that asked (to explain a failure), and at DEBUG."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        previous = getattr(self._local, "lines", None)
        lines: list[str] = []
        self._local.lines = lines
        try:
            yield lines
        finally:
            self._local.lines = previous

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage().strip()
        lines = getattr(self._local, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING:
            lines.append(message)
        log.debug("yfinance said: %s", message)
        return False


_YAHOO_LOG = _YahooLog()
_configure_lock = threading.Lock()
_cache_dir: Path | None = None


def _configure_yfinance(cache_dir: Path) -> None:
    """Once per process: yfinance's caches go to ``cache_dir``, its log lines through us."""
    global _cache_dir
    with _configure_lock:
        if _cache_dir is not None:
            if cache_dir != _cache_dir:
                log.debug("yfinance caches stay in %s (they cannot move once opened)", _cache_dir)
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        yf.set_tz_cache_location(str(cache_dir))
        logging.getLogger("yfinance").addFilter(_YAHOO_LOG)
        _cache_dir = cache_dir


def _forget_cached_responses() -> None:
    """Empty yfinance's in-process response cache.

    yfinance keeps responses for past date ranges and the earnings page in an LRU
    cache with no expiry (``YfData.cache_get``): without this a long-running bot
    would never see new earnings dates, and a bad answer would be served again.
    """
    clear = getattr(getattr(getattr(yf_data, "YfData", None), "cache_get", None), "cache_clear", None)
    if callable(clear):
        clear()


def _normalise(symbols: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s.strip().upper() for s in symbols if s and s.strip()))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _rate_limited(lines: Sequence[str]) -> bool:
    return any("RateLimit" in line or "Too Many Requests" in line for line in lines)


def _timestamps(index: pd.Index, interval: str) -> list[datetime]:
    """The frame's index as UTC datetimes: daily → 00:00 UTC of the date, intraday → the instant."""
    stamps = pd.DatetimeIndex(index)
    if interval == "1d":
        return [_midnight(ts.date()) for ts in stamps]
    if stamps.tz is None:
        raise SourceUnavailable(f"{SOURCE}: intraday times came back without a time zone")
    return [ts.to_pydatetime() for ts in stamps.tz_convert(UTC)]


def _bars(frame: pd.DataFrame | None, symbol: str, interval: str) -> list[Bar]:
    """Valid bars of ``symbol`` in a batched download (``(Price, Ticker)`` columns), oldest first."""
    if frame is None or frame.empty or not isinstance(frame.columns, pd.MultiIndex):
        return []
    if symbol not in frame.columns.get_level_values("Ticker"):
        return []
    prices = frame.xs(symbol, axis=1, level="Ticker")
    if not {"Open", "High", "Low", "Close"} <= set(prices.columns):
        return []
    volumes = prices["Volume"] if "Volume" in prices.columns else [None] * len(prices)
    bars = []
    for ts, o, h, lo, c, v in zip(
        _timestamps(prices.index, interval),
        prices["Open"],
        prices["High"],
        prices["Low"],
        prices["Close"],
        volumes,
        strict=True,
    ):
        ohlc = valid_ohlc(o, h, lo, c)
        if ohlc is None:
            continue
        bars.append(Bar(symbol, cast(Interval, interval), ts, *ohlc, _volume(v), SOURCE))
    return bars


def _within(bars: list[Bar], since: datetime, until: datetime | None) -> list[Bar]:
    return [b for b in bars if since <= b.ts and (until is None or b.ts < until)]


def _volume(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _attempt(call: Callable[[], T]) -> tuple[T | None, Exception | None]:
    """One yfinance call: a rate limit propagates (stop asking), any other failure is returned."""
    try:
        return call(), None
    except YFRateLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - yfinance raises anything; the caller decides with both answers
        return None, e


class EquitySource:
    """:class:`~bot.sources.base.MarketSource` and ``EarningsSource`` over yfinance."""

    name = SOURCE

    def __init__(
        self,
        *,
        session: Any = None,
        health: HealthRegistry | None = None,
        clock: Clock | None = None,
        hours: MarketHours | None = None,
        max_jump_pct: float = 20.0,
        cache_dir: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``session``: a curl_cffi or requests ``Session`` for every Yahoo request.

        Without one the source makes (and closes) its own: left to itself,
        ``yf.download`` would build a new session, and lose its cookie, on every call.
        """
        _configure_yfinance(cache_dir or DEFAULT_CACHE_DIR)
        self._own_session = session is None
        self._session = curl_requests.Session(impersonate="chrome") if session is None else session
        self._health = health
        self._clock = clock or SystemClock()
        self._hours = hours or default_market_hours()
        self._guard = JumpGuard(max_jump_pct)
        self._timeout = timeout

    # -- the protocol --------------------------------------------------------------------

    async def fetch_quotes(self, symbols: Sequence[str]) -> list[Quote]:
        """Latest price of each symbol from one batched 1-minute download; unpriceable ones are left out."""
        wanted = _normalise(symbols)
        if not wanted:
            return []
        now = self._clock.now()
        rows = await self._run(self._download, wanted, QUOTE_INTERVAL, self._quote_window_start(now), None)
        quotes = [quote for symbol, bars in rows.items() if (quote := self._quote(symbol, bars, now))]
        if not quotes:
            raise self._failed(f"{SOURCE}: every price failed validation ({', '.join(rows)})")
        self._succeeded()
        return quotes

    async def fetch_bars(
        self, symbol: str, interval: Interval, since: datetime, until: datetime | None = None
    ) -> list[Bar]:
        """Bars of one symbol in ``[since, until)``, oldest first (see :meth:`fetch_bars_many`)."""
        return (await self.fetch_bars_many([symbol], interval, since, until)).get(symbol.strip().upper(), [])

    async def fetch_bars_many(
        self, symbols: Sequence[str], interval: Interval, since: datetime, until: datetime | None = None
    ) -> dict[str, list[Bar]]:
        """Bars in ``[since, until)`` for many symbols from one batched download.

        Symbols without bars are left out. A window in which the market never
        opened returns ``{}`` without asking Yahoo.
        """
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {INTERVALS}, not {interval!r}")
        wanted = _normalise(symbols)
        now = self._clock.now()
        since, until = as_utc(since, "since"), as_utc(until, "until") if until else None
        if interval == "1h":
            since = max(since, now - MAX_HOURLY_HISTORY)
        if not wanted or not self._expects_bars(interval, since, until or now, now):
            return {}
        if interval == "1d":
            start: date | datetime = since.date()
            end: date | datetime | None = until.date() + timedelta(days=1) if until else None
        else:
            start, end = since, until
        found = await self._run(self._download, wanted, interval, start, end)
        self._succeeded()
        return {symbol: kept for symbol, bars in found.items() if (kept := _within(bars, since, until))}

    async def fetch_earnings(self, symbols: Sequence[str]) -> list[EarningsDate]:
        """Past and upcoming report dates (Yahoo's earnings page, plus ``Ticker.calendar``).

        A symbol without earnings (an ETF) gives none; SourceUnavailable only if
        every symbol failed.
        """
        wanted = _normalise(symbols)
        if not wanted:
            return []
        found, failures = await self._run(self._earnings, wanted)
        if failures and len(failures) == len(wanted):
            raise self._failed(f"{SOURCE}: no earnings dates ({next(iter(failures.values()))})")
        if failures:
            left_out = ", ".join(f"{s} ({reason})" for s, reason in failures.items())
            log.warning("%s: no earnings dates for %s", SOURCE, left_out)
        self._succeeded()
        return found

    async def validate_symbol(self, ticker: str) -> str:
        """``ticker`` upper-cased if Yahoo has prices for it; UnknownSymbol if Yahoo does not know it."""
        symbol = ticker.strip().upper()
        if not _SYMBOL.fullmatch(symbol):
            raise UnknownSymbol(f"{ticker!r} does not look like a ticker symbol")
        await self._run(self._probe, symbol)
        self._succeeded()
        return symbol

    async def close(self) -> None:
        """Close the HTTP session if this source made it."""
        if self._own_session:
            self._session.close()

    # -- health --------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except SourceUnavailable as e:
            raise self._failed(str(e)) from e

    def _failed(self, reason: str) -> SourceUnavailable:
        log.warning("%s", reason)
        if self._health is not None:
            self._health.failure(self.name, self._clock.now(), reason)
        return SourceUnavailable(reason)

    def _succeeded(self) -> None:
        if self._health is not None:
            self._health.success(self.name, self._clock.now())

    # -- prices (the sync parts run on a worker thread) -------------------------------------

    def _quote_window_start(self, now: datetime) -> datetime:
        """Open of the session before the latest one that started: enough for a previous close."""
        try:
            latest = self._hours.latest_started_session(now)
            previous = self._hours.session(self._hours.previous_trading_day(latest.day))
        except CalendarRangeError:
            previous = None
        return previous.open if previous else now - timedelta(days=5)

    def _expects_bars(self, interval: str, since: datetime, end: datetime, now: datetime) -> bool:
        try:
            if interval == "1h":
                return bool(self._hours.sessions_between(since, min(end, now)))
            opened = self._hours.sessions_between(since, now)
        except CalendarRangeError:
            return True
        return any(since <= _midnight(s.day) < end for s in opened)

    def _quote(self, symbol: str, rows: list[Bar], now: datetime) -> Quote | None:
        last = rows[-1]
        price = self._guard.accept(symbol, last.close, SOURCE)
        recent = [r.close for r in rows[-HELD_BARS:]]
        if price is None and len(recent) == HELD_BARS and max(recent) <= min(recent) * 1.02:
            # JumpGuard never moves its reference on its own: without this a real gap
            # (AMD +37 % on 2025-10-06) would be rejected until a restart.
            log.warning("%s: %s held %.2f for %d minutes; accepting the move", SOURCE, symbol, last.close, HELD_BARS)
            self._guard.seed(symbol, last.close)
            price = last.close
        if price is None:
            return None
        day = last.ts.astimezone(NEW_YORK).date()
        previous = next((r.close for r in reversed(rows) if r.ts.astimezone(NEW_YORK).date() < day), None)
        change = (price / previous - 1) * 100 if previous else None
        return Quote(symbol, price, last.ts, SOURCE, now, change)

    def _download(
        self, symbols: list[str], interval: str, start: date | datetime, end: date | datetime | None
    ) -> dict[str, list[Bar]]:
        """One ``yf.download`` for all ``symbols``: valid rows per symbol, or an exception if none."""
        with _YAHOO_LOG.capture() as said:
            try:
                frame = yf.download(
                    symbols,
                    start=start,
                    end=end,
                    interval=interval,
                    auto_adjust=False,
                    actions=False,
                    ignore_tz=interval == "1d",
                    group_by="column",
                    multi_level_index=True,
                    keepna=False,
                    progress=False,
                    threads=True,
                    timeout=self._timeout,
                    session=self._session,
                )
            except Exception as e:
                raise SourceUnavailable(f"{SOURCE}: download failed ({type(e).__name__}: {e})") from e
        rows = {s: found for s in symbols if (found := _bars(frame, s, interval))}
        missing = [s for s in symbols if s not in rows]
        if not rows:
            _forget_cached_responses()
            if _rate_limited(said):
                raise SourceUnavailable(f"{SOURCE}: rate limited")
            if len(symbols) == 1:
                self._probe(symbols[0])  # tells "unknown" from "unavailable" when it can
            raise SourceUnavailable(f"{SOURCE}: no data for {', '.join(symbols)}")
        if missing:
            log.warning("%s: no data for %s; left out of this answer", SOURCE, ", ".join(missing))
        return rows

    def _probe(self, symbol: str) -> None:
        """Ask for 5 days of daily prices with errors raised: the only way yfinance tells why."""
        with _YAHOO_LOG.capture():
            try:
                frame = yf.Ticker(symbol, session=self._session).history(
                    period="5d",
                    interval="1d",
                    auto_adjust=False,
                    actions=False,
                    timeout=self._timeout,
                    raise_errors=True,
                )
            except YFPricesMissingError as e:
                if e.yahoo_reason:  # Yahoo itself said it has nothing for this symbol
                    raise UnknownSymbol(f"Yahoo Finance does not know {symbol} ({e.yahoo_reason})") from e
                raise SourceUnavailable(f"{SOURCE}: no data for {symbol}") from e
            except YFRateLimitError as e:
                raise SourceUnavailable(f"{SOURCE}: rate limited") from e
            except Exception as e:
                raise SourceUnavailable(f"{SOURCE}: Yahoo unreachable ({type(e).__name__})") from e
        if frame is None or frame.empty or not any(as_price(c) for c in frame["Close"]):
            raise SourceUnavailable(f"{SOURCE}: no data for {symbol}")

    # -- earnings ----------------------------------------------------------------------------

    def _earnings(self, symbols: list[str]) -> tuple[list[EarningsDate], dict[str, str]]:
        _forget_cached_responses()
        found: list[EarningsDate] = []
        failures: dict[str, str] = {}
        with _YAHOO_LOG.capture():
            for symbol in symbols:
                if "rate limited" in failures.values():
                    failures[symbol] = "rate limited"  # do not keep knocking
                    continue
                try:
                    found.extend(self._earnings_of(symbol))
                except YFRateLimitError:
                    failures[symbol] = "rate limited"
                except Exception as e:  # noqa: BLE001 - one symbol's failure must not lose the others
                    failures[symbol] = type(e).__name__
        return found, failures

    def _earnings_of(self, symbol: str) -> list[EarningsDate]:
        """Dates with timing from the earnings page; a lone date from the calendar if it is new."""
        ticker = yf.Ticker(symbol, session=self._session)
        frame, page_error = _attempt(lambda: ticker.get_earnings_dates(limit=12))
        calendar, calendar_error = _attempt(lambda: ticker.calendar)
        if page_error and calendar_error:
            raise page_error
        dates: dict[date, EarningsTiming] = {}
        for stamp in frame.index if frame is not None else ():
            if not pd.isna(stamp):
                when = pd.Timestamp(stamp).to_pydatetime()
                when = when if when.tzinfo else when.replace(tzinfo=NEW_YORK)
                dates[when.astimezone(NEW_YORK).date()] = self._hours.report_timing(when)
        upcoming = (calendar or {}).get("Earnings Date") or []
        # Two dates are Yahoo's estimated window, not a report date. yfinance turns the
        # timestamp into a date in the machine's local zone, so ±1 day is the same report.
        if len(upcoming) == 1 and not any(abs((upcoming[0] - d).days) <= 1 for d in dates):
            dates[upcoming[0]] = "unknown"
        return [EarningsDate(symbol, day, timing, SOURCE) for day, timing in sorted(dates.items())]
