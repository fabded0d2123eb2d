"""Replay: the same engine, thresholds and state machine over recorded data, on a simulated clock.

``replay(...)`` walks the recorded bars in the order they closed. Bars before
``start`` are history: stored and walked silently (level sides, correlation state
warm up) while no chat is subscribed. From ``start`` on, one chat with default
settings is subscribed and every alert queued for it is yielded, exactly as the live
bot would have sent it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path

from bot.clock import ManualClock
from bot.config import SHIPPED_REPLAY_DATA, Settings, load_settings
from bot.engine.engine import Decided, Engine
from bot.sources.market_hours import MarketHours
from bot.sources.replay import ReplaySource
from bot.sources.replay_data import load_replay_data
from bot.store import chats, market, open_db

REPLAY_CHAT = 1
DEFAULT_START = date(2025, 12, 1)


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    data: Path
    start: datetime
    end: date | None  # the last bar date replayed (inclusive)
    levels: dict[str, tuple[float, ...]] | None  # None: the default levels


def as_start(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def replay_settings(source: ReplaySource) -> Settings:
    """Default settings, tracking what the data holds (crypto by file name, the rest as equities)."""
    crypto = sorted(source.data.crypto)
    equities = [s for s in source.symbols if s not in source.data.crypto]
    return load_settings(crypto_symbols=",".join(crypto) or "BTC", equity_watchlist=",".join(equities) or "QQQ")


def replay(plan: ReplayPlan, *, progress=None) -> Iterator[Decided]:
    """Yield every alert the replay chat receives, in time order."""
    data = load_replay_data(plan.data)
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    source = ReplaySource(data, clock)
    settings = replay_settings(source)
    first, last = source.span()
    hours = MarketHours(min(first.date(), plan.start.date()), max(last.date(), plan.start.date()))
    db = open_db(":memory:")
    market.upsert_earnings(db, data.earnings, first)
    engine = Engine(db, settings, hours, global_levels=plan.levels)
    subscribed = False
    until = as_start(plan.end + timedelta(days=2)) if plan.end else None
    events = [e for e in source.events(end=until) if plan.end is None or e.bar.ts.date() <= plan.end]
    bar = progress(total=len(events)) if progress else None
    for at, group in groupby(events, key=lambda e: e.at):
        batch = [e.bar for e in group]
        if not subscribed and at >= plan.start:
            chats.remember_chat(db, REPLAY_CHAT, "private", now=at)
            chats.set_subscribed(db, REPLAY_CHAT, True, now=at)
            subscribed = True
        clock.set(at)
        market.upsert_bars(db, batch)
        for decided in engine.process(at, bars=batch):
            if REPLAY_CHAT in decided.chat_ids:
                yield decided
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    db.close()


def default_plan(
    data: Path | None = None,
    start: date | None = None,
    end: date | None = None,
    levels: dict[str, tuple[float, ...]] | None = None,
) -> ReplayPlan:
    return ReplayPlan(
        data=data or SHIPPED_REPLAY_DATA,
        start=as_start(start or DEFAULT_START),
        end=end,
        levels=levels,
    )
