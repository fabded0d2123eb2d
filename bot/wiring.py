"""Putting the parts together, in one place: sources → store → engine → outbox, live or replayed.

    parts = live_parts(settings)                               # ccxt + yfinance, the system clock
    parts = await replay_parts(settings, data, start, speed)   # recorded data, a simulated clock
    pipeline = replay_pipeline(data, ":memory:", start, end)   # what `python -m bot replay` runs

Both modes build the same collector, engine and market jobs (:func:`_pipeline`); they
differ only in the sources behind the collector and in what paces the jobs (the
JobQueue on the system clock, or the replay driver on a simulated one).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from bot.clock import Clock, ManualClock, SystemClock
from bot.collector import Collector
from bot.config import DEFAULT_REPLAY_START, Settings
from bot.delivery.photos import Attach
from bot.domain import Alert
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import MarketHours, default_market_hours, hours_covering, utc_midnight
from bot.replay import (
    Levels,
    ReplayDriver,
    ReplayPipeline,
    data_end,
    replay_database_path,
    replay_settings,
)
from bot.scheduler import MarketJobs, Runner, market_jobs
from bot.sources.base import EarningsSource, MarketSource, SymbolCheck
from bot.sources.consensus import Consensus
from bot.sources.replay import ReplaySource
from bot.sources.replay_checks import check_replay_data
from bot.sources.replay_data import load_replay_data
from bot.sources.validate import JumpGuard
from bot.store import market, open_db

if TYPE_CHECKING:
    from bot.sources.crypto_stream import CryptoStream
    from bot.sources.yahoo_stream import YahooStream

log = logging.getLogger(__name__)

RESET_TABLES = ("fanouts", "deliveries", "alerts", "rule_states", "bars", "quotes", "earnings")


@dataclass
class Parts:
    """Everything the Telegram application runs with."""

    settings: Settings
    db: Database
    clock: Clock
    health: HealthRegistry
    engine: Engine | None = None  # None: no market data (commands only)
    runner: Runner | None = None  # what runs the market jobs
    symbols: SymbolCheck | None = None  # answers whether a ticker exists (/watch add)
    attach: Attach | None = None  # the chart sent with an alert
    started_at: datetime | None = None
    expire: bool = True  # alerts too old to send are summed up (not on a replay's fast clock)


def chart_attacher(database_path: Path | str) -> Attach:
    """``attach`` for the sender: the alert's chart, rendered on a worker thread with its own
    connection (WAL lets it read while the bot writes)."""
    from bot.charts import chart_for_alert
    from bot.store.db import connect

    def render(alert: Alert, lang: str) -> bytes | None:
        db = connect(database_path)
        try:
            return chart_for_alert(db, alert, lang)
        finally:
            db.close()

    async def attach(alert: Alert, lang: str) -> bytes | None:
        return await asyncio.to_thread(render, alert, lang)

    return attach


def _pipeline(
    settings: Settings,
    db: Database,
    clock: Clock,
    health: HealthRegistry,
    hours: MarketHours,
    *,
    crypto: MarketSource,
    equities: MarketSource,
    earnings: EarningsSource,
    sync_delay: timedelta | None = None,
    levels: Levels | None = None,
    quiet_until: datetime | None = None,
) -> tuple[Engine, MarketJobs]:
    """The collector feeding the engine, and its jobs: the one path a price takes to a chat."""
    engine = Engine(db, settings, hours, fresh=health.is_fresh, global_levels=levels, quiet_until=quiet_until)
    collector = Collector(db, settings, clock, health, hours, crypto=crypto, equities=equities, earnings=earnings)
    if sync_delay is not None:
        collector.sync_delay = sync_delay
    collector.on_stored = engine.decide
    return engine, market_jobs(collector)


def live_parts(settings: Settings) -> Parts:
    """The bot on the real exchanges (ccxt) and Yahoo (yfinance)."""
    from bot.sources.crypto import CryptoSource
    from bot.sources.equities import EquitySource

    health = HealthRegistry()
    db = open_db(settings.database_path)
    clock = SystemClock()
    hours = default_market_hours()
    crypto = CryptoSource.from_settings(settings, health=health, clock=clock)
    for symbol, quote in market.latest_quotes(db, list(settings.crypto_symbols)).items():
        crypto.seed(symbol, quote.price)
    equities = EquitySource(
        health=health,
        clock=clock,
        hours=hours,
        max_jump_pct=settings.max_price_jump_pct,
        cache_dir=settings.database_path.parent / "yfinance-cache",
        proxy=settings.yahoo_proxy,
        extended_hours=settings.equity_extended_hours,
    )
    engine, jobs = _pipeline(settings, db, clock, health, hours, crypto=crypto, equities=equities, earnings=equities)
    if settings.crypto_confirm:
        jobs.collector.consensus = Consensus(settings.crypto_exchanges)
    if settings.crypto_stream:
        jobs.streams += crypto_streams(settings, jobs.collector, crypto.guard)
    if settings.equity_stream:
        jobs.streams.append(equity_stream(settings, jobs.collector, equities.guard))
    return Parts(
        settings, db, clock, health, engine, jobs, equities, chart_attacher(settings.database_path), clock.now()
    )


def crypto_streams(settings: Settings, collector: Collector, guard: JumpGuard) -> list[CryptoStream]:
    """The websocket prices, into the collector; the crypto poll stands aside while they arrive.

    One stream; two side by side on different exchanges when ``CRYPTO_CONFIRM`` asks every move
    to be confirmed on a second venue (the collector's consensus takes both)."""
    from bot.sources.crypto_stream import CryptoStream, Streams

    def stream(**kwargs: Any) -> CryptoStream:
        return CryptoStream(
            settings.crypto_exchanges,
            settings.crypto_symbols,
            on_quotes=collector.take_streamed,
            on_bars=collector.take_candles,
            guard=guard,
            health=collector.health,
            clock=collector.clock,
            exchange_options=settings.crypto_exchange_options,
            silent_after=settings.crypto_stream_silent_seconds,
            **kwargs,
        )

    if not settings.crypto_confirm:
        collector.stream = first = stream()
        return [first]
    pair: list[CryptoStream] = []  # each avoids the exchange the other streams from
    pair.append(stream(avoid=lambda: pair[1].current))
    pair.append(stream(first=1, avoid=lambda: pair[0].current))
    running = pair if len(pair[0].exchanges) > 1 else pair[:1]  # one streams: the poll brings the other
    collector.stream = Streams(running, needed=2)
    return running


def equity_stream(settings: Settings, collector: Collector, guard: JumpGuard) -> YahooStream:
    """Yahoo's streamed prices, into the collector; the equity poll fetches only the names it lacks."""
    from bot.sources.yahoo_stream import YahooStream

    stream = YahooStream(
        collector.equity_symbols,
        on_quotes=collector.take_streamed,
        guard=guard,
        health=collector.health,
        clock=collector.clock,
        url=settings.yahoo_stream_url,
        proxy=settings.yahoo_proxy,
    )
    collector.equity_stream = stream
    return stream


def replay_pipeline(
    data: Path,
    database: Path | str,
    start: datetime,
    end: date | None = None,
    *,
    settings: Settings | None = None,
    levels: Levels | None = None,
) -> ReplayPipeline:
    """The live pipeline over the recorded data in ``data``; quiet before ``start``."""
    recorded = load_replay_data(data)
    settings = replay_settings(recorded, settings)
    # the live sources' checks, on recorded data: refuse bars from the future, skip bad prints
    recorded = check_replay_data(recorded, now=SystemClock().now(), max_jump_pct=settings.max_price_jump_pct)
    health = HealthRegistry()
    first = min(min(bar.ts for bars in recorded.bars.values() for bar in bars), start)
    clock = ManualClock(first)
    source = ReplaySource(recorded, clock, health=health)
    db = open_db(database)
    hours = hours_covering(first.date(), max(source.span()[1], start).date())
    engine, jobs = _pipeline(
        settings, db, clock, health, hours, crypto=source, equities=source, earnings=source,
        sync_delay=timedelta(0), levels=levels, quiet_until=start,
    )  # fmt: skip
    driver = ReplayDriver(source, jobs, clock, end=data_end(source, end))
    return ReplayPipeline(settings, db, health, engine, driver)


async def replay_parts(settings: Settings, data: Path, start: date | None, speed: float) -> Parts:
    """``run --replay``: the bot on recorded data; the history before ``start`` is walked at once
    when the bot runs (it answers commands meanwhile), then the replay goes at ``speed``."""
    begin = utc_midnight(start or DEFAULT_REPLAY_START)
    path = replay_database_path(settings.database_path)
    reset_market_state(path)
    pipeline = replay_pipeline(data, path, begin, settings=settings)
    driver = pipeline.driver
    driver.warm_up = (begin, speed)
    return Parts(
        pipeline.settings, pipeline.db, driver.clock, pipeline.health, pipeline.engine, driver,
        driver.source, chart_attacher(path), begin, expire=False,
    )  # fmt: skip


def reset_market_state(path: Path) -> None:
    """Forget the previous replay's prices, alerts and rule state; keep chats and their settings."""
    db = open_db(path)
    try:
        with db.atomic():
            for table in RESET_TABLES:
                db.execute(f"DELETE FROM {table}")
    finally:
        db.close()
