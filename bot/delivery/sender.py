"""The sender drains the outbox: each (alert, chat) delivery is marked sent only after
Telegram accepted it, so a crash or restart re-sends exactly what was not yet sent.

* ``RetryAfter`` → every delivery waits (Telegram's flood control is per bot);
* network errors and 5xx → this delivery retries with a growing delay;
* ``Forbidden`` or "chat not found" → the chat is marked blocked and its queue dropped;
* any other ``BadRequest`` → logged with the alert id and dropped, never retried forever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.clock import Clock
from bot.engine.alerts import alert_from_json
from bot.render import render, split_message
from bot.store import chats
from bot.store.db import utcnow_iso
from bot.telegram.errors import is_chat_gone

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Pending:
    delivery_id: int
    alert_id: int
    chat_id: int
    attempts: int
    payload: dict
    language: str
    timezone: str


def pending(db: Database, now: datetime, limit: int = 100) -> list[Pending]:
    rows = db.execute(
        """
        SELECT d.id, d.alert_id, d.chat_id, d.attempts, a.payload, c.language, c.timezone
        FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN chats c ON c.id = d.chat_id
        WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)
        ORDER BY d.id LIMIT ?
        """,
        [utcnow_iso(now), limit],
    )
    return [Pending(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6]) for r in rows]


class Sender:
    def __init__(self, db: Database, bot: Bot, clock: Clock, send: Callable[..., Awaitable] | None = None) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self._send = send or bot.send_message
        self.paused_until: datetime | None = None

    async def drain(self, limit: int = 100) -> int:
        """Send what is due; returns how many deliveries Telegram accepted."""
        now = self.clock.now()
        if self.paused_until is not None and now < self.paused_until:
            return 0
        sent = 0
        for item in pending(self.db, now, limit):
            outcome = await self._deliver(item)
            if outcome == "sent":
                sent += 1
            elif outcome == "pause":
                break
        return sent

    async def _deliver(self, item: Pending) -> str:
        now = self.clock.now()
        text = render(alert_from_json(item.payload), item.language, item.timezone)
        try:
            message = None
            for part in split_message(text):
                message = await self._send(chat_id=item.chat_id, text=part)
        except RetryAfter as exc:
            wait = exc.retry_after if isinstance(exc.retry_after, (int, float)) else exc.retry_after.total_seconds()
            self.paused_until = now + timedelta(seconds=float(wait))
            log.warning("Telegram flood control: pausing deliveries for %.0f s", wait)
            return "pause"
        except Exception as exc:  # noqa: BLE001 - every Telegram failure is classified below
            return self._failed(item, exc, now)
        self.db.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1, message_id = ? WHERE id = ?",
            [utcnow_iso(now), getattr(message, "message_id", None), item.delivery_id],
        )
        return "sent"

    def _failed(self, item: Pending, exc: Exception, now: datetime) -> str:
        if is_chat_gone(exc):
            with self.db.atomic():
                chats.set_blocked(self.db, item.chat_id, True, now=now)
                self.db.execute(
                    "UPDATE deliveries SET status = 'dropped', last_error = ? WHERE chat_id = ? AND status = 'pending'",
                    [f"chat gone: {exc}", item.chat_id],
                )
            log.info("chat %s is gone (%s): marked blocked, its queue dropped", item.chat_id, exc)
            return "dropped"
        if isinstance(exc, BadRequest) or not isinstance(exc, NetworkError) or item.attempts + 1 >= MAX_ATTEMPTS:
            self.db.execute(
                "UPDATE deliveries SET status = 'dropped', attempts = attempts + 1, last_error = ? WHERE id = ?",
                [f"{type(exc).__name__}: {exc}"[:500], item.delivery_id],
            )
            log.error("alert %s to chat %s dropped: %s", item.alert_id, item.chat_id, exc)
            return "dropped"
        delay = min(300, 2 ** item.attempts * 5)
        self.db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [utcnow_iso(now + timedelta(seconds=delay)), f"{type(exc).__name__}: {exc}"[:500], item.delivery_id],
        )
        log.warning("alert %s to chat %s failed (%s); retrying in %d s", item.alert_id, item.chat_id, exc, delay)
        return "retry"
