"""Putting the parts together for ``python -m bot run``: live sources, or recorded data.

Both return the database and the keyword arguments of
:func:`bot.telegram.app.build_application` (plus ``settings`` when replay adjusts them).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.clock import SystemClock
from bot.config import Settings
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.store import open_db

log = logging.getLogger(__name__)


def chart_attacher(database_path: Path):
    """``attach`` for the sender: the alert's chart, rendered on a worker thread with its own
    read-only connection (WAL lets it read while the bot writes)."""
    from bot.charts import chart_for_alert
    from bot.store.db import connect

    def render(alert, lang: str) -> bytes | None:
        db = connect(database_path)
        try:
            return chart_for_alert(db, alert, lang)
        finally:
            db.close()

    async def attach(alert, lang: str) -> bytes | None:
        return await asyncio.to_thread(render, alert, lang)

    return attach


def live_parts(settings: Settings) -> tuple[Database, dict[str, Any]]:
    from bot.scheduler import live_collector
    from bot.sources.market_hours import default_market_hours

    health = HealthRegistry()
    db = open_db(settings.database_path)
    clock = SystemClock()
    engine = Engine(db, settings, default_market_hours(), fresh=health.is_fresh)
    collector = live_collector(settings, db, clock, health)
    collector.on_stored = lambda now, quotes, bars: engine.process(now, quotes, bars)
    parts = {"clock": clock, "health": health, "collector": collector, "engine": engine}
    return db, parts | {"attach": chart_attacher(settings.database_path)}


def replay_parts(
    settings: Settings, data: Path, start: date | None, speed: float
) -> tuple[Database, dict[str, Any]]:
    from bot.replay import DEFAULT_START, replay_settings
    from bot.replay_live import ReplayFeeder, replay_clock_at, replay_database_path, reset_market_state
    from bot.sources.market_hours import MarketHours
    from bot.sources.replay import ReplaySource
    from bot.sources.replay_data import load_replay_data

    start = start or DEFAULT_START
    clock = replay_clock_at(start, speed)
    source = ReplaySource(load_replay_data(data), clock)
    tracked = replay_settings(source)
    settings = settings.model_copy(
        update={"crypto_symbols": tracked.crypto_symbols, "equity_watchlist": tracked.equity_watchlist}
    )
    path = replay_database_path(settings.database_path)
    db = open_db(path)
    reset_market_state(db)
    first, last = source.span()
    hours = MarketHours(min(first.date(), start), max(last.date(), start))
    engine = Engine(db, settings, hours)
    feeder = ReplayFeeder(db, source, engine, clock, clock.now())
    feeder.warm_up()
    log.info("replay from %s at %gx: %s", start, speed, ", ".join(source.symbols))
    parts = {"clock": clock, "health": HealthRegistry(), "engine": engine, "feeder": feeder, "settings": settings}
    return db, parts | {"attach": chart_attacher(path)}
