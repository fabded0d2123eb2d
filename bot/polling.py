"""One scheduled job: no overlap with itself, backoff after a failure, readable logs.

The JobQueue (APScheduler) only calls :meth:`Poller.run` on its interval; every
decision (is it due, is the previous run still going, are we backing off) is made
here with the injected clock, so tests drive it without sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.backoff import Backoff
from bot.clock import Clock
from bot.sources.base import SourceError

log = logging.getLogger(__name__)

Work = Callable[[datetime], Awaitable[object]]
Gate = Callable[[datetime], bool]


class Poller:
    def __init__(
        self,
        name: str,
        work: Work,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
        due: Gate | None = None,
    ) -> None:
        self.name = name
        self._work = work
        self._clock = clock
        self._backoff = backoff or Backoff(base=5, cap=300)
        self._due = due
        self.running = False
        self.retry_at: datetime | None = None
        self.last_run: datetime | None = None
        self.last_success: datetime | None = None
        self.failures = 0
        self.skipped_overlaps = 0

    async def run(self) -> bool:
        """Do the work now if it is due; True if it ran and succeeded."""
        now = self._clock.now()
        if self.running:
            self.skipped_overlaps += 1
            log.debug("%s: previous run still going, skipping this one", self.name)
            return False
        if self.retry_at is not None and now < self.retry_at:
            return False
        if self._due is not None and not self._due(now):
            return False
        self.running = True
        self.last_run = now
        try:
            await self._work(now)
        except SourceError as exc:
            self.failures += 1
            delay = self._backoff.next_delay()
            self.retry_at = now + timedelta(seconds=delay)
            log.warning("%s failed (%s); next try in %.0f s", self.name, exc, delay)
            return False
        finally:
            self.running = False
        self._backoff.reset()
        self.retry_at = None
        self.failures = 0
        self.last_success = now
        return True
