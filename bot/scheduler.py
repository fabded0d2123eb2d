"""The market-data jobs, and what runs them: PTB's JobQueue in real time, or the replay driver.

Each job is a :class:`~bot.polling.Poller`: whatever ticks it, whether it is due (market
hours, backoff, already running) is decided there with the collector's clock. Live, the
JobQueue (APScheduler) ticks each job on its interval; in replay, :mod:`bot.replay` ticks
them all at every moment a recorded bar closes, on a simulated clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from telegram.ext import ContextTypes, JobQueue

from bot.collector import Collector
from bot.polling import Poller

BACKFILL_TICK = 30.0
EARNINGS_TICK = 300.0
STALENESS_TICK = 15.0


class Stream(Protocol):
    async def run(self) -> None:
        """Take streamed prices until cancelled."""


class Runner(Protocol):
    """What the Telegram application starts: the market jobs on its JobQueue, however they are paced."""

    def schedule(self, job_queue: JobQueue[Any]) -> None:
        """Put the recurring work on ``job_queue``."""

    async def close(self) -> None:
        """Release the sources."""


@dataclass
class MarketJobs:
    """The collector's jobs, each with the seconds between its ticks when run live, and the
    streams that run beside them (live only)."""

    collector: Collector
    pollers: list[tuple[Poller, float]]
    streams: list[Stream] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def by_name(self, name: str) -> Poller:
        return next(p for p, _ in self.pollers if p.name == name)

    async def run_due(self) -> None:
        """Tick every job once, in order (backfill, earnings, crypto, equities, staleness)."""
        for poller, _ in self.pollers:
            await poller.run()

    def schedule(self, job_queue: JobQueue[Any]) -> None:
        """Tick each job on its own interval on the JobQueue, from now on."""
        self.collector.health.collecting = True
        for index, (poller, every) in enumerate(self.pollers):
            job_queue.run_repeating(_tick(poller), every, first=0.1 + index * 0.5, name=poller.name)
        self._tasks = [asyncio.get_running_loop().create_task(s.run(), name="stream") for s in self.streams]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.collector.close()


def market_jobs(collector: Collector) -> MarketJobs:
    """The jobs of ``collector``: history first, then the calendar, then prices, then what is stale."""
    settings, clock = collector.settings, collector.clock
    pollers: list[tuple[Poller, float]] = []
    # Closures read each poller's own state when they run (after it is assigned).
    backfill = Poller("backfill", collector.backfill, clock, due=lambda now: backfill.last_success is None)
    pollers.append((backfill, BACKFILL_TICK))
    if collector.earnings is not None:
        refresh = timedelta(hours=settings.earnings_refresh_hours)
        earnings = Poller(
            "earnings calendar",
            collector.refresh_earnings,
            clock,
            due=lambda now: earnings.last_success is None or now - earnings.last_success >= refresh,
        )
        pollers.append((earnings, EARNINGS_TICK))
    if collector.crypto is not None:
        pollers.append((Poller("crypto poll", collector.poll_crypto, clock), settings.crypto_poll_seconds))
    if collector.equities is not None:
        equities = Poller(
            "equity poll",
            collector.poll_equities,
            clock,
            due=lambda now: (
                collector.hours.should_poll_extended if settings.equity_extended_hours else collector.hours.should_poll
            )(now, equities.last_success),
        )
        pollers.append((equities, settings.equity_poll_seconds))
    pollers.append((Poller("staleness", collector.check_staleness, clock), STALENESS_TICK))
    return MarketJobs(collector, pollers)


def _tick(poller: Poller) -> Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    async def callback(context: ContextTypes.DEFAULT_TYPE) -> None:
        await poller.run()

    callback.__name__ = callback.__qualname__ = f"tick_{poller.name.replace(' ', '_')}"
    return callback
