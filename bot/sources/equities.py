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
import logging
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

from bot.clock import Clock, SystemClock
from bot.domain import INTERVALS, Bar, EarningsDate, EarningsTiming, Interval, Quote
from bot.health import HealthRegistry
from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, as_utc, default_market_hours, utc_midnight
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.sources.validate import JumpGuard, as_price
from bot.sources.yahoo import (
    SOURCE,
    YAHOO_LOG,
    attempt,
    bars_in,
    configure_yfinance,
    forget_cached_responses,
    rate_limited,
)

log = logging.getLogger(__name__)

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


def _normalise(symbols: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s.strip().upper() for s in symbols if s and s.strip()))


def _within(bars: list[Bar], since: datetime, until: datetime | None) -> list[Bar]:
    return [b for b in bars if since <= b.ts and (until is None or b.ts < until)]


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
        proxy: str | None = None,
        extended_hours: bool = True,
    ) -> None:
        """``session``: a curl_cffi or requests ``Session`` for every Yahoo request.
        ``extended_hours``: outside the regular session, quotes include pre-market and
        after-hours trades (``prepost``).

        Without one the source makes (and closes) its own, through ``proxy`` if given: left to
        itself, ``yf.download`` would build a new session, and lose its cookie, on every call.
        """
        configure_yfinance(cache_dir or DEFAULT_CACHE_DIR)
        self._own_session = session is None
        if session is None:
            session = curl_requests.Session(impersonate="chrome", proxy=proxy)
        self._session = session
        self._extended_hours = extended_hours
        self._health = health
        self._clock = clock or SystemClock()
        self._hours = hours or default_market_hours()
        self._guard = JumpGuard(max_jump_pct)
        self._timeout = timeout

    @property
    def guard(self) -> JumpGuard:
        """The jump guard every price passes (shared with the stream, so both judge alike)."""
        return self._guard

    # -- the protocol --------------------------------------------------------------------

    async def fetch_quotes(self, symbols: Sequence[str]) -> list[Quote]:
        """Latest price of each symbol from one batched 1-minute download; unpriceable ones are left out."""
        wanted = _normalise(symbols)
        if not wanted:
            return []
        now = self._clock.now()
        extended = self._extended_hours and not self._hours.is_open(now)  # pre-market and after-hours prices too
        start = self._quote_window_start(now)
        rows = await self._run(self._download, wanted, QUOTE_INTERVAL, start, None, extended)
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

    def explain_jumps(self, symbols: Iterable[str]) -> None:
        """These reported lately: a price far from the last one is their market's answer, taken
        at once (the bad-print guard would hold a real 20 % earnings gap for minutes)."""
        self._guard.explain(symbols)

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
        return any(since <= utc_midnight(s.day) < end for s in opened)

    def _regular(self, when: datetime) -> bool:
        try:
            return self._hours.is_open(when)
        except CalendarRangeError:
            return True

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
        # Against the last regular close: the day before's in the session and the pre-market, the
        # same day's after hours (never an after-hours price).
        day = last.ts.astimezone(NEW_YORK).date() if self._regular(last.ts) else None
        before = (r for r in reversed(rows[:-1]) if day is None or r.ts.astimezone(NEW_YORK).date() < day)
        previous = next((r.close for r in before if self._regular(r.ts)), None)
        change = (price / previous - 1) * 100 if previous else None
        return Quote(symbol, price, last.ts, SOURCE, now, change)

    def _download(
        self,
        symbols: list[str],
        interval: str,
        start: date | datetime,
        end: date | datetime | None,
        prepost: bool = False,
    ) -> dict[str, list[Bar]]:
        """One ``yf.download`` for all ``symbols``: valid rows per symbol, or an exception if none."""
        with YAHOO_LOG.capture() as said:
            try:
                frame = yf.download(
                    symbols,
                    start=start,
                    end=end,
                    interval=interval,
                    prepost=prepost,
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
        rows = {s: found for s in symbols if (found := bars_in(frame, s, interval))}
        missing = [s for s in symbols if s not in rows]
        if not rows:
            forget_cached_responses()
            if rate_limited(said):
                raise SourceUnavailable(f"{SOURCE}: rate limited")
            if len(symbols) == 1:
                self._probe(symbols[0])  # tells "unknown" from "unavailable" when it can
            raise SourceUnavailable(f"{SOURCE}: no data for {', '.join(symbols)}")
        if missing:
            log.warning("%s: no data for %s; left out of this answer", SOURCE, ", ".join(missing))
        return rows

    def _probe(self, symbol: str) -> None:
        """Ask for 5 days of daily prices with errors raised: the only way yfinance tells why."""
        with YAHOO_LOG.capture():
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
        forget_cached_responses()
        found: list[EarningsDate] = []
        failures: dict[str, str] = {}
        with YAHOO_LOG.capture():
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
        frame, page_error = attempt(lambda: ticker.get_earnings_dates(limit=12))
        calendar, calendar_error = attempt(lambda: ticker.calendar)
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
