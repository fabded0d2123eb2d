"""Replay: the live pipeline over recorded data, on a clock that runs as fast as the data allows.

The market jobs of the live bot (:mod:`bot.scheduler`) poll a
:class:`~bot.sources.replay.ReplaySource` instead of the exchanges and Yahoo. The
:class:`ReplayDriver` moves a :class:`~bot.clock.ManualClock` to each moment a recorded bar
closes and runs the jobs there, so sources → store → engine → outbox is the same code in
live and in replay: quotes and bars are stored, the rules decide, the outbox fills.

* ``python -m bot replay`` (:func:`replay_alerts`) runs the whole span at once, with one
  chat with default settings subscribed, and hands over each alert queued for it.
* ``python -m bot run --replay`` runs the real Telegram bot on it: the driver's
  :meth:`~ReplayDriver.schedule` paces the steps with a :class:`~bot.clock.SimulatedClock`.

Data before ``start`` is history: the jobs store it and the rules walk it (level sides,
correlation state) while the engine stays quiet, exactly as a bot that had been running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from telegram.ext import ContextTypes, JobQueue

from bot.clock import ManualClock, SimulatedClock
from bot.config import DEFAULT_REPLAY_START, SHIPPED_REPLAY_DATA, Settings, load_settings
from bot.domain import Alert
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import utc_midnight
from bot.rules.registry import decode_alert, encode_value, setting_named
from bot.scheduler import MarketJobs
from bot.sources.replay import ReplaySource
from bot.sources.replay_data import ReplayData
from bot.store import chats, outbox, prefs
from bot.store.due import due_deliveries

log = logging.getLogger(__name__)

REPLAY_CHAT = 1
PACE_TICK = 1.0  # real seconds between the steps of ``run --replay``
Levels = dict[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    data: Path
    start: datetime
    end: date | None  # the last bar date replayed (inclusive)
    levels: Levels | None  # None: the default levels


def default_plan(
    data: Path | None = None, start: date | None = None, end: date | None = None, levels: Levels | None = None
) -> ReplayPlan:
    return ReplayPlan(data or SHIPPED_REPLAY_DATA, utc_midnight(start or DEFAULT_REPLAY_START), end, levels)


def replay_settings(data: ReplayData, base: Settings | None = None) -> Settings:
    """``base`` (default settings if None) tracking what the data holds: crypto by file name, the rest as equities."""
    crypto = ",".join(sorted(data.crypto)) or "BTC"
    equities = ",".join(s for s in data.symbols if s not in data.crypto) or "QQQ"
    if base is None:
        return load_settings(crypto_symbols=crypto, equity_watchlist=equities)
    return base.model_copy(
        update={"crypto_symbols": tuple(crypto.split(",")), "equity_watchlist": tuple(equities.split(","))}
    )


class ReplayDriver:
    """Runs the market jobs at every moment a recorded bar closes, on a clock it moves itself."""

    def __init__(
        self, source: ReplaySource, jobs: MarketJobs, clock: ManualClock, *, end: datetime | None = None
    ) -> None:
        self.source = source
        self.jobs = jobs
        self.clock = clock
        self.end = end
        self.pace: SimulatedClock | None = None
        self.warm_up: tuple[datetime, float] | None = None  # (start, speed): walk the history first, then pace
        self._stepping = asyncio.Lock()
        self._finished = False

    async def run_until(self, until: datetime, on_step: Callable[[datetime], object] | None = None) -> int:
        """Step through every bar close in (now, ``until``] (and not past ``end``); returns how many."""
        self.jobs.collector.health.collecting = True
        limit = min(until, self.end) if self.end is not None else until
        steps = 0
        async with self._stepping:
            for at in self.source.close_times(self.clock.now(), limit):
                self.clock.set(at)
                await self.jobs.run_due()
                await asyncio.sleep(0)  # recorded data never waits for the network: let the bot answer meanwhile
                steps += 1
                if on_step is not None:
                    on_step(at)
            if until > self.clock.now():
                self.clock.set(until)  # between two bars time still passes (for /price ages, /status)
        return steps

    def schedule(self, job_queue: JobQueue[Any]) -> None:
        """Step on the JobQueue as simulated time passes (``pace`` or ``warm_up`` must be set)."""
        if self.pace is None and self.warm_up is None:
            raise RuntimeError("ReplayDriver.schedule needs a pace (a SimulatedClock) or a warm-up")
        job_queue.run_repeating(self._tick, PACE_TICK, first=0.2, name="replay")

    async def _tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._stepping.locked():
            return  # the previous step is still running: catch up on the next tick
        if self.pace is None:  # the history before the start, walked at once (the bot answers meanwhile)
            assert self.warm_up is not None
            start, speed = self.warm_up
            await self.run_until(start)
            self.pace = pace_from(start, speed)
            log.info("replay from %s at %gx: %s", start.date(), speed, ", ".join(self.source.symbols))
            return
        await self.run_until(self.pace.now())
        last = self.source.span()[1]
        if not self._finished and self.clock.now() >= last:
            self._finished = True
            log.info("replay: reached the end of the data (%s)", last.date())

    async def close(self) -> None:
        await self.jobs.close()


def data_end(source: ReplaySource, end: date | None) -> datetime | None:
    """When the last bar dated ``end`` or earlier closed (None: the end of the data)."""
    if end is None:
        return None
    closes = [e.at for e in source.events() if e.bar.ts.date() <= end]
    return max(closes, default=utc_midnight(end))


@dataclass
class ReplayPipeline:
    """The replay's parts (put together by :func:`bot.wiring.replay_pipeline`)."""

    settings: Settings
    db: Database
    health: HealthRegistry
    engine: Engine
    driver: ReplayDriver


@dataclass(frozen=True, slots=True)
class ReplayMessage:
    """One message the replay chat received: its number, its alerts, (an in-place edit) the
    number of the message it updates, and (a follow-up) the number of the message it answers."""

    number: int
    at: datetime
    alerts: tuple[Alert, ...]
    edit_of: int | None = None
    reply_to: int | None = None


async def replay_messages(
    pipeline: ReplayPipeline,
    *,
    chosen: Mapping[str, Any] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> AsyncIterator[ReplayMessage]:
    """Every message a subscribed chat receives, in the order it is sent; ``chosen``: the
    chat's own settings (the bot's defaults for the rest).

    ``progress(total)`` may return an object with ``update(n)`` and ``close()`` (a tqdm bar).
    """
    db, driver = pipeline.db, pipeline.driver
    now = driver.clock.now()
    chats.remember_chat(db, REPLAY_CHAT, "private", now=now)
    chats.set_subscribed(db, REPLAY_CHAT, True, now=now)
    for name, value in (chosen or {}).items():
        setting = setting_named(name)
        assert setting is not None, name
        prefs.set_value(db, REPLAY_CHAT, setting.name, encode_value(setting, value), now)
    steps = driver.source.close_times(now, driver.end or driver.source.span()[1])
    bar = progress(len(steps)) if progress is not None else None
    number = 0
    try:
        for at in steps:
            await driver.run_until(at)
            if bar is not None:
                bar.update(1)
            while due := due_deliveries(db, at, limit=1):
                number += 1
                # the message's "Telegram id" is its number, so an edit of it names it
                outbox.mark_sent(db, due[0].delivery_id, 1, number, at)
                alerts = tuple(decode_alert(kind, payload) for kind, payload in due[0].alerts)
                yield ReplayMessage(number, at, alerts, due[0].edit_message_id, due[0].reply_to)
    finally:
        if bar is not None:
            bar.close()
        await driver.close()


async def replay_alerts(pipeline: ReplayPipeline) -> AsyncIterator[Alert]:
    """Every alert a chat with default settings receives, in the order it is sent."""
    async for message in replay_messages(pipeline):
        for alert in message.alerts:
            yield alert


def replay_database_path(database_path: Path) -> Path:
    """``run --replay`` keeps its own database beside the live one: recorded prices never mix with live ones."""
    return database_path.with_name(f"{database_path.stem}-replay{database_path.suffix or '.db'}")


def pace_from(start: datetime, speed: float) -> SimulatedClock:
    return SimulatedClock(start, speed)
