"""The deliveries due now, each with what is needed to say it in its chat (read by the sender).

At most one delivery per chat is handed out at a time (a chat's alerts arrive in order), none
for the chats the sender is still busy with; each comes with its alerts (most important first),
the chat's language, timezone, charts, quiet hours and silent kinds, the message it edits (a
thread updated in place) or answers (a follow-up), and since when Telegram could not be reached.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.store.db import utcnow_iso


@dataclass(frozen=True, slots=True)
class Pending:
    """One delivery due now, with what is needed to render it for its chat."""

    delivery_id: int
    chat_id: int
    attempts: int
    alerts: tuple[tuple[str, str], ...]  # (kind, payload) of each alert, most important first
    language: str
    timezone: str
    parts_sent: int = 0
    charts: bool = True
    edit_message_id: int | None = None  # set: edit this message (the thread's first) instead of sending
    alert_ids: tuple[int, ...] = ()
    unreachable_since: datetime | None = None  # when Telegram first could not be reached for it
    summary: bool = False  # a list of alerts that expired before they could be sent one by one
    decided_at: datetime | None = None  # when its first alert was decided
    # the chat's message of the alert its first alert follows up (a reply to it): that alert, or the
    # same kind, symbol and period at the chat's own threshold
    reply_to: int | None = None
    quiet: str | None = None  # the chat's quiet hours ("23:00-07:00", its timezone); None: none
    silent: tuple[str, ...] | None = None  # the kinds it hears without a notification; None: the default

    @property
    def alert_id(self) -> int:
        """The first (most important) alert's id, for logs."""
        return self.alert_ids[0] if self.alert_ids else 0


def due_deliveries(db: Database, now: datetime, limit: int = 100, *, skip_chats: Collection[int] = ()) -> list[Pending]:
    """Due deliveries, oldest first, at most one per chat and none for ``skip_chats``."""
    rows = db.execute(
        """
        SELECT d.id, d.chat_id, d.attempts, c.language, c.timezone, d.parts_sent,
               COALESCE(v.value, 'true') != 'false', e.message_id, d.unreachable_since, d.summary,
               (SELECT f.message_id FROM delivery_alerts x JOIN alerts a ON a.id = x.alert_id
                  JOIN alerts p ON p.id = a.follows
                  JOIN alerts q ON q.kind = p.kind AND q.symbol = p.symbol AND q.period = p.period
                  JOIN delivery_alerts y ON y.alert_id = q.id AND y.chat_id = d.chat_id
                  JOIN deliveries f ON f.id = y.delivery_id
                WHERE x.delivery_id = d.id AND x.position = 0 AND f.message_id IS NOT NULL
                ORDER BY f.id LIMIT 1),
               q.value, s.value
        FROM deliveries d JOIN chats c ON c.id = d.chat_id
        LEFT JOIN chat_values v ON v.chat_id = d.chat_id AND v.name = 'charts'
        LEFT JOIN chat_values q ON q.chat_id = d.chat_id AND q.name = 'quiet'
        LEFT JOIN chat_values s ON s.chat_id = d.chat_id AND s.name = 'silent'
        LEFT JOIN deliveries e ON e.id = d.edit_of
        WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)
        ORDER BY d.id LIMIT ?
        """,
        [utcnow_iso(now), 4 * limit + len(skip_chats)],
    )
    seen = set(skip_chats)
    picked: list[tuple[Any, ...]] = []
    for row in rows:
        if len(picked) >= limit:
            break
        if row[1] not in seen:
            seen.add(row[1])
            picked.append(tuple(row))
    alerts: dict[int, list[tuple[int, str, str]]] = {}
    first: dict[int, str] = {}  # when each delivery's first alert was decided
    if picked:
        marks = ",".join("?" * len(picked))
        for delivery_id, alert_id, kind, payload, decided in db.execute(
            f"""
            SELECT da.delivery_id, a.id, a.kind, a.payload, a.decided_at
            FROM delivery_alerts da JOIN alerts a ON a.id = da.alert_id
            WHERE da.delivery_id IN ({marks}) ORDER BY da.delivery_id, da.position
            """,
            [p[0] for p in picked],
        ):
            alerts.setdefault(delivery_id, []).append((alert_id, kind, payload))
            if decided and (delivery_id not in first or decided < first[delivery_id]):
                first[delivery_id] = decided
    pending = []
    for (
        delivery_id,
        chat_id,
        attempts,
        language,
        tz,
        parts_sent,
        charts,
        edit_id,
        unreachable,
        summary,
        reply,
        quiet,
        silent,
    ) in picked:
        rows_of = alerts.get(delivery_id, [])
        kinds = tuple((kind, payload) for _, kind, payload in rows_of)
        ids = tuple(alert_id for alert_id, _, _ in rows_of)
        since = _instant(unreachable)
        pending.append(
            Pending(
                delivery_id, chat_id, attempts, kinds, language, tz, parts_sent, bool(charts), edit_id, ids, since,
                bool(summary), _instant(first.get(delivery_id)), reply, json.loads(quiet) if quiet else None,
                tuple(json.loads(silent)) if silent else None,
            )
        )  # fmt: skip
    return pending


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None
