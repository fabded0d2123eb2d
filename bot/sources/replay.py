"""Recorded market data served on a simulated clock, so the live engine can run over past days.

    data = load_replay_data()                     # bot/data/market_2025 unless told otherwise
    clock = replay_clock(datetime(2025, 12, 1, tzinfo=UTC), speed=None)   # stepped
    source = ReplaySource(data, clock)
    for event in source.events(clock.now()):
        clock.set(event.at)
        ...                                       # the engine polls source as if it were live

The source reads ``clock.now()`` on every call and never shows a bar before it has
closed (see :func:`bar_close_time`): an hourly bar at ``ts`` closes at ``ts + 1h``, a
crypto daily bar at the next 00:00 UTC, an equity daily bar at its NYSE session close
(16:00 New York, 13:00 on half days), taken from ``exchange_calendars``.

Earnings dates are served in full, future ones included: companies announce them weeks
ahead, and the live earnings source gives upcoming dates too.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


from bot.clock import Clock, ManualClock
from bot.config import SHIPPED_REPLAY_DATA
from bot.sources.base import (
    INTERVALS,
    Bar,
    EarningsDate,
    Interval,
    Quote,
    SourceUnavailable,
    UnknownSymbol,
)
from bot.sources.market_hours import CalendarRangeError, default_market_hours
from bot.sources.replay_data import (
    SOURCE_NAME,
    ReplayData,
    ReplayDataError,
    canonical_symbol,
    load_replay_data,
)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class SimulatedClock:
    """Simulated time = ``start`` + real seconds elapsed since creation × ``speed``.

    ``monotonic`` is the real-time function (seconds); tests pass a fake one.
    """

    def __init__(
        self, start: datetime, speed: float = 1.0, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number (got {speed!r})")
        self._start = start.astimezone(UTC)
        self._speed = float(speed)
        self._monotonic = monotonic
        self._real_start = monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._real_start) * self._speed)

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until simulated time reaches ``when`` (0 if it already has)."""
        return max(0.0, (when - self.now()).total_seconds() / self._speed)


def replay_clock(start: datetime, speed: float | None = None) -> SimulatedClock | ManualClock:
    """A running :class:`SimulatedClock` at ``speed``, or a stepped :class:`ManualClock` if None."""
    return ManualClock(start) if speed is None else SimulatedClock(start, speed)


@dataclass(frozen=True, slots=True)
class BarClosed:
    """One bar becoming visible: the replay driver's unit of time."""

    at: datetime
    bar: Bar


def nyse_session_close(day: date) -> datetime:
    """Close of the NYSE session on ``day`` in UTC; :class:`ReplayDataError` if there was none."""
    hours = default_market_hours()
    try:
        session = hours.session(day)
    except CalendarRangeError:
        raise ReplayDataError(f"{day} is outside the NYSE calendar ({hours.first} .. {hours.last})") from None
    if session is None:
        raise ReplayDataError(f"{day} is not an NYSE trading day")
    return session.close


def bar_close_time(bar: Bar, *, crypto: bool) -> datetime:
    """When ``bar`` has closed and may be seen."""
    if bar.interval == "1h":
        return bar.ts + HOUR
    if crypto:
        return bar.ts + DAY
    return nyse_session_close(bar.ts.date())


@dataclass(frozen=True, slots=True)
class _Series:
    bars: tuple[Bar, ...]
    starts: tuple[datetime, ...]
    closes: tuple[datetime, ...]


def _series(bars: tuple[Bar, ...], crypto: bool) -> _Series:
    closes = []
    for bar in bars:
        try:
            closes.append(bar_close_time(bar, crypto=crypto))
        except ReplayDataError as exc:
            raise ReplayDataError(
                f"{bar.symbol} has a {bar.interval} bar on {bar.ts.date()}, but {exc} "
                "(name crypto files <SYMBOL>-USD_1d.csv so they count as trading around the clock)"
            ) from None
    return _Series(bars, tuple(b.ts for b in bars), tuple(closes))


def _aware(when: datetime, name: str) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (got {when.isoformat()})")
    return when.astimezone(UTC)


def _event_key(event: BarClosed) -> tuple[datetime, str, int]:
    return event.at, event.bar.symbol, INTERVALS.index(event.bar.interval)


class ReplaySource:
    """:class:`~bot.sources.base.MarketSource` and ``EarningsSource`` over recorded data.

    What is visible follows ``clock.now()``; nothing that closes later is ever returned.
    """

    name = SOURCE_NAME

    def __init__(self, data: ReplayData, clock: Clock) -> None:
        self.data = data
        self.clock = clock
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

    def events(self, start: datetime | None = None, end: datetime | None = None) -> Iterator[BarClosed]:
        """Every bar at the moment it closes, for ``start <= at < end``, in time order.

        Ties are broken by symbol, then interval (``1h`` before ``1d``). Independent of
        the clock: the driver walks these and moves the clock itself.
        """
        lo = 0 if start is None else bisect_left(self._event_times, _aware(start, "start"))
        hi = len(self._events) if end is None else bisect_left(self._event_times, _aware(end, "end"))
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
            raise UnknownSymbol(f"replay data has no {symbol} (it has {', '.join(self.data.symbols)})")
        return canonical

    async def fetch_quotes(self, symbols: Sequence[str]) -> list[Quote]:
        """Latest visible close per symbol; unknown or not-yet-traded symbols are left out."""
        now = self.clock.now()
        requested = list(dict.fromkeys(symbols))
        quotes: list[Quote] = []
        unknown: list[str] = []
        for name in requested:
            symbol = canonical_symbol(name)
            if symbol not in self.data.symbols:
                unknown.append(name)
            elif (latest := self.price_at(symbol, now)) is not None:
                ts, price = latest
                before = self.price_at(symbol, ts - DAY)  # BTC: 24h ago; equities: previous close
                change = (price / before[1] - 1) * 100 if before else None
                quotes.append(Quote(symbol, price, ts, SOURCE_NAME, now, change))
        if quotes or not requested:
            return quotes
        if len(unknown) == len(requested):
            raise UnknownSymbol(
                f"replay data has no {', '.join(unknown)} (it has {', '.join(self.data.symbols)})"
            )
        raise SourceUnavailable(f"replay has no bar closed by {now.isoformat()} for {', '.join(requested)}")

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
        lo = bisect_left(series.starts, _aware(since, "since"))
        hi = visible if until is None else min(visible, bisect_left(series.starts, _aware(until, "until")))
        return list(series.bars[lo:hi])

    async def fetch_earnings(self, symbols: Sequence[str]) -> list[EarningsDate]:
        """Recorded report dates of ``symbols`` (past and upcoming), by symbol and date."""
        wanted = {canonical_symbol(s) for s in symbols}
        return [e for e in self.data.earnings if e.symbol in wanted]

    async def close(self) -> None:
        """Nothing to release."""
