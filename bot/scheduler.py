"""The market-data jobs on PTB's JobQueue (APScheduler), and the live sources behind them.

Each job is a :class:`~bot.polling.Poller`: the JobQueue only ticks it; whether it
is due (market hours, backoff, already running) is decided there with the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database
from telegram.ext import ContextTypes, JobQueue

from bot.clock import Clock
from bot.collector import Collector
from bot.config import Settings
from bot.health import HealthRegistry
from bot.polling import Poller
from bot.sources.market_hours import default_market_hours
from bot.store import market

BACKFILL_TICK = 30.0
EARNINGS_TICK = 300.0


@dataclass
class MarketJobs:
    pollers: list[tuple[Poller, float]]  # each with the seconds between ticks

    def by_name(self, name: str) -> Poller:
        return next(p for p, _ in self.pollers if p.name == name)


def market_jobs(collector: Collector, settings: Settings, clock: Clock) -> MarketJobs:
    pollers: list[tuple[Poller, float]] = []
    # Closures read each poller's own state when they run (after it is assigned).
    backfill = Poller("backfill", collector.backfill, clock, due=lambda now: backfill.last_success is None)
    pollers.append((backfill, BACKFILL_TICK))
    if collector.crypto is not None:
        pollers.append((Poller("crypto poll", collector.poll_crypto, clock), settings.crypto_poll_seconds))
    if collector.equities is not None:
        equities = Poller(
            "equity poll",
            collector.poll_equities,
            clock,
            due=lambda now: collector.hours.should_poll(now, equities.last_success),
        )
        pollers.append((equities, settings.equity_poll_seconds))
    if collector.earnings is not None:
        refresh = timedelta(hours=settings.earnings_refresh_hours)
        earnings = Poller(
            "earnings calendar",
            collector.refresh_earnings,
            clock,
            due=lambda now: earnings.last_success is None or now - earnings.last_success >= refresh,
        )
        pollers.append((earnings, EARNINGS_TICK))
    return MarketJobs(pollers)


def _tick(poller: Poller):
    async def callback(context: ContextTypes.DEFAULT_TYPE) -> None:
        await poller.run()

    callback.__name__ = callback.__qualname__ = f"tick_{poller.name.replace(' ', '_')}"
    return callback


def schedule(job_queue: JobQueue, jobs: MarketJobs) -> None:
    for index, (poller, every) in enumerate(jobs.pollers):
        job_queue.run_repeating(_tick(poller), every, first=0.1 + index * 0.5, name=poller.name)


def live_collector(settings: Settings, db: Database, clock: Clock, health: HealthRegistry) -> Collector:
    """The collector over the real exchanges (ccxt) and Yahoo (yfinance)."""
    from bot.sources.crypto import CryptoSource
    from bot.sources.equities import EquitySource

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
    )
    return Collector(db, settings, clock, health, hours, crypto=crypto, equities=equities, earnings=equities)
