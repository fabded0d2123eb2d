"""Stored bars kept in memory between ticks, read from the database only where they changed.

The store stays the source of truth: on every read the cache asks SQLite for the bars at or
after the newest one it holds (an index range, usually one or two rows), so a bar stored by
any job, or a last bar revised by its source, is seen at once. Only a request reaching
further back than what is held reads the older bars.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot.domain import Bar, Interval
from bot.store import market


@dataclass
class _Series:
    since: datetime  # bars from here on are held
    bars: list[Bar] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)

    def replace_from(self, fresh: list[Bar]) -> None:
        """``fresh`` are every stored bar at or after the first of them: they replace the tail."""
        if not fresh:
            return
        cut = bisect.bisect_left(self.starts, fresh[0].ts)
        del self.bars[cut:], self.starts[cut:]
        self.bars += fresh
        self.starts += [b.ts for b in fresh]


class BarCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._series: dict[tuple[str, Interval], _Series] = {}

    def bars(self, symbol: str, interval: Interval, since: datetime, until: datetime | None = None) -> list[Bar]:
        """Stored bars of one series that started in ``[since, until)``, oldest first."""
        key = (symbol, interval)
        series = self._series.get(key)
        if series is None or since < series.since:
            series = _Series(since)
            series.replace_from(market.load_bars(self.db, symbol, interval, since))
            self._series[key] = series
        else:
            newest = series.starts[-1] if series.starts else series.since
            series.replace_from(market.load_bars(self.db, symbol, interval, newest))
        lo = bisect.bisect_left(series.starts, since)
        hi = len(series.starts) if until is None else bisect.bisect_left(series.starts, until)
        return series.bars[lo:hi]
