"""``python -m bot run --replay``: the real Telegram bot on recorded data and a simulated clock.

The :class:`ReplayFeeder` stands in for the collector: on each tick it takes the bars
that closed (in simulated time) since the last tick, stores them and hands them to the
engine, exactly as the live collector does with what it polled. Data before the start
is history: stored and walked silently, so correlations and level states are warm at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from itertools import groupby
from pathlib import Path

from sqlite_utils import Database

from bot.clock import Clock
from bot.engine.engine import Engine
from bot.sources.replay import ReplaySource, SimulatedClock
from bot.store import market

log = logging.getLogger(__name__)

RESET_TABLES = ("deliveries", "alerts", "rule_state", "bars", "quotes", "earnings")


def replay_database_path(database_path: Path) -> Path:
    """Replay keeps its own database next to the live one: recorded prices never mix with live ones."""
    return database_path.with_name(f"{database_path.stem}-replay{database_path.suffix or '.db'}")


def reset_market_state(db: Database) -> None:
    """Forget the previous replay's prices, alerts and rule state; keep chats and their settings."""
    with db.atomic():
        for table in RESET_TABLES:
            db.execute(f"DELETE FROM {table}")


class ReplayFeeder:
    def __init__(self, db: Database, source: ReplaySource, engine: Engine, clock: Clock, start: datetime) -> None:
        self.db = db
        self.source = source
        self.engine = engine
        self.clock = clock
        self.start = start
        self.position = datetime.min.replace(tzinfo=UTC)
        self.done = False

    def warm_up(self) -> int:
        """Store and walk the history before ``start`` silently; returns how many bars."""
        market.upsert_earnings(self.db, self.source.data.earnings, self.start)
        count = 0
        for at, group in groupby(self.source.events(end=self.start), key=lambda e: e.at):
            bars = [e.bar for e in group]
            market.upsert_bars(self.db, bars)
            self.engine.process(at, bars=bars, silent=True)
            count += len(bars)
        self.position = self.start
        log.info("replay: %d bars of history before %s", count, self.start.date())
        return count

    def tick(self) -> int:
        """Feed every bar that closed up to the simulated now; returns how many alerts were decided."""
        now = self.clock.now()
        decided = 0
        for at, group in groupby(self.source.events(start=self.position, end=now), key=lambda e: e.at):
            bars = [e.bar for e in group]
            market.upsert_bars(self.db, bars)
            decided += len(self.engine.process(at, bars=bars))
        self.position = max(self.position, now)
        if not self.done and now >= self.source.span()[1]:
            self.done = True
            log.info("replay: reached the end of the data (%s)", self.source.span()[1].date())
        return decided


def replay_clock_at(start: date, speed: float) -> SimulatedClock:
    return SimulatedClock(datetime.combine(start, time(0), UTC), speed)
