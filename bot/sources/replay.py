"""Recorded market data served as a live source would serve it, on whatever clock it is given.

    data = load_replay_data()                     # bot/data/market_2025 unless told otherwise
    source = ReplaySource(data, clock)            # clock: a ManualClock the replay driver moves
    await source.fetch_quotes(["BTC", "NVDA"])    # the latest close visible at clock.now()
    source.close_times(after, until)              # when something new becomes visible

The source reads ``clock.now()`` on every call and never shows a bar before it has
closed (:func:`bot.markettime.bar_close_time`): an hourly bar at ``ts`` closes at
``ts + 1h``, a crypto daily bar at the next 00:00 UTC, an equity daily bar at its NYSE
session close (16:00 New York, 13:00 on half days).

Earnings dates are served in full, future ones included: companies announce them weeks
ahead, and the live earnings source gives upcoming dates too.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock
from bot.config import SHIPPED_REPLAY_DATA
from bot.domain import INTERVALS, Bar, EarningsDate, Interval, Quote
from bot.health import HealthRegistry
from bot.markettime import NEW_YORK, CalendarRangeError, as_utc, bar_close_time, default_market_hours
from bot.sources.base import UnknownSymbol
from bot.sources.replay_data import (
    SOURCE_NAME,
    ReplayData,
    ReplayDataError,
    canonical_symbol,
    load_replay_data,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
CHANGE_SLACK = timedelta(hours=6)  # a 24 h change needs a price from 24 to 30 h before, as the large-move rule


@dataclass(frozen=True, slots=True)
class BarClosed:
    """One bar becoming visible: the replay driver's unit of time."""

    at: datetime
    bar: Bar


def _close_time(bar: Bar, crypto: bool) -> datetime:
    """When ``bar`` closed; an equity's daily bar on a day the NYSE did not trade is an error."""
    hours = default_market_hours()
    if bar.interval == "1d" and not crypto:
        try:
            session = hours.session(bar.ts.date())
        except CalendarRangeError:
            raise ReplayDataError(
                f"{bar.ts.date()} is outside the NYSE calendar ({hours.first} .. {hours.last})"
            ) from None
        if session is None:
            raise ReplayDataError(f"{bar.ts.date()} is not an NYSE trading day")
    return bar_close_time(bar, hours, around_the_clock=crypto)


@dataclass(frozen=True, slots=True)
class _Series:
    bars: tuple[Bar, ...]
    starts: tuple[datetime, ...]
    closes: tuple[datetime, ...]


def _series(bars: tuple[Bar, ...], crypto: bool) -> _Series:
    closes = []
    for bar in bars:
        try:
            closes.append(_close_time(bar, crypto))
        except ReplayDataError as exc:
            raise ReplayDataError(
                f"{bar.symbol} has a {bar.interval} bar on {bar.ts.date()}, but {exc} "
                "(name crypto files <SYMBOL>-USD_1d.csv so they count as trading around the clock)"
            ) from None
    return _Series(bars, tuple(b.ts for b in bars), tuple(closes))


def _event_key(event: BarClosed) -> tuple[datetime, str, int]:
    return event.at, event.bar.symbol, INTERVALS.index(event.bar.interval)


class ReplaySource:
    """:class:`~bot.sources.base.MarketSource` and ``EarningsSource`` over recorded data.

    What is visible follows ``clock.now()``; nothing that closes later is ever returned.
    """

    name = SOURCE_NAME

    def __init__(self, data: ReplayData, clock: Clock, *, health: HealthRegistry | None = None) -> None:
        self.data = data
        self.clock = clock
        self.health = health
        self._series: dict[tuple[str, Interval], _Series] = {
            key: _series(bars, key[0] in data.crypto) for key, bars in data.bars.items()
        }
        events = [
            BarClosed(at, bar)
            for series in self._series.values()
            for at, bar in zip(series.closes, series.bars, strict=True)
        ]
        self._events = tuple(sorted(events, key=_event_key))
        self._event_times = tuple(e.at for e in self._events)
        self._close_times = tuple(sorted(set(self._event_times)))

    @classmethod
    def from_folder(cls, clock: Clock, folder: Path | str = SHIPPED_REPLAY_DATA) -> ReplaySource:
        """Load ``folder`` (the shipped 2025 data by default) and serve it on ``clock``."""
        return cls(load_replay_data(folder), clock)

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.data.symbols

    def span(self) -> tuple[datetime, datetime]:
        """Close times of the first and the last recorded bar."""
        return self._event_times[0], self._event_times[-1]

    def close_times(self, after: datetime | None = None, until: datetime | None = None) -> tuple[datetime, ...]:
        """The distinct moments a bar closes with ``after < at <= until``, in order."""
        lo = 0 if after is None else bisect_right(self._close_times, as_utc(after, "after"))
        hi = len(self._close_times) if until is None else bisect_right(self._close_times, as_utc(until, "until"))
        return self._close_times[lo:hi]

    def events(self, start: datetime | None = None, end: datetime | None = None) -> Iterator[BarClosed]:
        """Every bar at the moment it closes, for ``start <= at < end``, in time order.

        Ties are broken by symbol, then interval (``1h`` before ``1d``). Independent of
        the clock: the driver walks these and moves the clock itself.
        """
        lo = 0 if start is None else bisect_left(self._event_times, as_utc(start, "start"))
        hi = len(self._events) if end is None else bisect_left(self._event_times, as_utc(end, "end"))
        return iter(self._events[lo:hi])

    def price_at(self, symbol: str, when: datetime) -> tuple[datetime, float] | None:
        """The latest close of ``symbol`` visible at ``when`` and its close time, any interval.

        On equal close times the hourly bar wins; without hourly data (BTC in December)
        the daily bars answer.
        """
        best: tuple[datetime, float] | None = None
        for interval in INTERVALS:
            series = self._series.get((symbol, interval))
            if series is None:
                continue
            n = bisect_right(series.closes, when)
            if n and (best is None or series.closes[n - 1] > best[0]):
                best = series.closes[n - 1], series.bars[n - 1].close
        return best

    def _known(self, symbol: str) -> str:
        canonical = canonical_symbol(symbol)
        if canonical not in self.data.symbols:
            raise self._unknown([symbol])
        return canonical

    def _unknown(self, symbols: Sequence[str]) -> UnknownSymbol:
        known = self.data.symbols
        return UnknownSymbol(f"replay data has no {', '.join(symbols)} (it has {', '.join(known)})", known=known)

    def _answered(self) -> None:
        if self.health is not None:
            self.health.success(self.name, self.clock.now())

    async def validate_symbol(self, ticker: str) -> str:
        """The canonical symbol if the recorded data has it; :class:`UnknownSymbol` (naming what it has) if not."""
        symbol = self._known(ticker)
        if symbol in self.data.crypto:
            raise self._unknown([ticker])  # the watchlist is for stocks
        return symbol

    async def fetch_quotes(self, symbols: Sequence[str]) -> list[Quote]:
        """Latest visible close per symbol; unknown symbols and those not traded yet are left out.

        :class:`UnknownSymbol` if the data has none of ``symbols``. Before a recorded series
        starts there is nothing to report, which is not a failure: the answer is empty.
        """
        now = self.clock.now()
        requested = list(dict.fromkeys(symbols))
        known = [s for s in requested if canonical_symbol(s) in self.data.symbols]
        if requested and not known:
            raise self._unknown(requested)
        quotes: list[Quote] = []
        for symbol in map(canonical_symbol, known):
            if (latest := self.price_at(symbol, now)) is not None:
                ts, price = latest
                before = self._reference(symbol, ts)
                change = (price / before - 1) * 100 if before else None
                market = f"{symbol}/USD" if symbol in self.data.crypto else None  # files are <SYMBOL>-USD
                quotes.append(Quote(symbol, price, ts, SOURCE_NAME, now, change, market))
        self._answered()
        return quotes

    def _reference(self, symbol: str, ts: datetime) -> float | None:
        """What a price seen at ``ts`` changed from: BTC's price 24 h before, an equity's
        previous session close; None where the data has a hole there (a change is never
        measured across one)."""
        found = self.price_at(symbol, ts - DAY)
        if found is None:
            return None
        seen, price = found
        if symbol in self.data.crypto:
            return price if seen >= ts - DAY - CHANGE_SLACK else None
        hours = default_market_hours()
        try:
            previous = hours.session(hours.previous_trading_day(ts.astimezone(NEW_YORK).date()))
        except CalendarRangeError:
            return None
        return price if previous is not None and seen >= previous.close else None

    async def fetch_bars(
        self, symbol: str, interval: Interval, since: datetime, until: datetime | None = None
    ) -> list[Bar]:
        """Closed bars starting in ``[since, until)``, oldest first; empty where none were recorded."""
        symbol = self._known(symbol)
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)} (got {interval!r})")
        series = self._series.get((symbol, interval))
        if series is None:
            return []
        visible = bisect_right(series.closes, self.clock.now())
        lo = bisect_left(series.starts, as_utc(since, "since"))
        hi = visible if until is None else min(visible, bisect_left(series.starts, as_utc(until, "until")))
        self._answered()
        return list(series.bars[lo:hi])

    async def fetch_earnings(self, symbols: Sequence[str]) -> list[EarningsDate]:
        """Recorded report dates of ``symbols`` (past and upcoming), by symbol and date."""
        wanted = {canonical_symbol(s) for s in symbols}
        return [e for e in self.data.earnings if e.symbol in wanted]

    async def close(self) -> None:
        """Nothing to release."""
