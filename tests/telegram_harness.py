"""Run the real bot application against the fake Bot API server, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from telegram.ext import Application

from bot.clock import SystemClock
from bot.config import Settings, load_settings
from bot.delivery.limiter import SmoothRateLimiter
from bot.delivery.schedule import Limits
from bot.health import HealthRegistry
from bot.store import open_db
from bot.telegram.app import build_application, serve
from bot.wiring import Parts
from tests.fakes.telegram import TOKEN, FakeTelegram


@dataclass
class RunningBot:
    app: Application
    db: Database
    settings: Settings
    health: HealthRegistry


def bot_settings(fake: FakeTelegram, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": fake.url,
        "database_path": tmp_path / "bot.db",
    }
    values.update(overrides)
    return load_settings(**values)


def bot_parts(settings: Settings, db: Database | None = None, **kwargs: Any) -> Parts:
    """The parts of a bot for ``settings``: the given ones, a new database and health by default."""
    db = db or open_db(settings.database_path)
    clock = kwargs.pop("clock", None) or SystemClock()
    health = kwargs.pop("health", None) or HealthRegistry()
    return Parts(settings, db, clock, health, **kwargs)


RELAXED = Limits(overall=10_000, per_chat_interval=0.0, group=10_000)
"""Telegram's limits lifted, for tests of what a bot says rather than how fast it may say it."""


@asynccontextmanager
async def running_bot(
    settings: Settings,
    fake: FakeTelegram,
    db: Database | None = None,
    *,
    parts: Parts | None = None,
    limits: Limits = RELAXED,
    **kwargs: Any,
) -> AsyncIterator[RunningBot]:
    """The real application against ``fake``: ``parts`` as given, or built from ``settings`` and ``kwargs``.

    Replies are paced by the bot's own rate limiter with ``limits``: relaxed unless a test
    checks Telegram's limits themselves (pass ``Limits()``).
    """
    parts = parts or bot_parts(settings, db, **kwargs)
    db, settings, health = parts.db, parts.settings, parts.health
    app = build_application(parts, rate_limiter=SmoothRateLimiter(limits))
    stop = asyncio.Event()
    fake.long_polls = True
    task = asyncio.create_task(serve(app, stop, poll_timeout=1))
    try:
        for _ in range(500):
            if fake.calls["getUpdates"] or (fake.calls["setWebhook"] and _listening(settings)) or task.done():
                break  # PTB registers the webhook before its server listens: wait for both
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        yield RunningBot(app, db, settings, health)
    finally:
        fake.end_long_polls()  # stopping the bot waits for no long poll
        stop.set()
        await asyncio.wait_for(task, 15)
        db.close()


def _listening(settings: Settings) -> bool:
    """Whether the bot's webhook server accepts connections yet."""
    try:
        with socket.create_connection((settings.webhook_listen, settings.webhook_port), timeout=0.2):
            return True
    except OSError:
        return False
