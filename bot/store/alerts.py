"""Decided alerts and the outbox: an alert and its deliveries are written in one transaction.

``record_alert`` inserts an alert by its key; if the key is already there the alert was
decided before (a restart, a second evaluation) and nothing is written: no alert is
decided or queued twice. Deliveries start ``pending``; the sender marks them ``sent``
only after Telegram accepted the message, or ``dropped`` (blocked chat, bad request).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from bot.store.db import utcnow_iso


def record_alert(
    db: Database, key: str, kind: str, symbol: str, time: datetime, payload: dict[str, Any],
    chat_ids: Iterable[int], now: datetime,
) -> int | None:
    """Store a new alert and queue it for ``chat_ids``; None if ``key`` was decided before.

    Call inside ``db.atomic()`` together with the rule state it came from.
    """
    cursor = db.execute(
        """
        INSERT INTO alerts (key, kind, symbol, time, payload, decided_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(key) DO NOTHING
        """,
        [key, kind, symbol, utcnow_iso(time), json.dumps(payload, sort_keys=True), utcnow_iso(now)],
    )
    if cursor.rowcount == 0:
        return None
    alert_id = cursor.lastrowid
    db.conn.executemany(
        "INSERT OR IGNORE INTO deliveries (alert_id, chat_id) VALUES (?, ?)",
        [(alert_id, chat_id) for chat_id in chat_ids],
    )
    return alert_id


def alert_exists(db: Database, key: str) -> bool:
    return db.execute("SELECT 1 FROM alerts WHERE key = ?", [key]).fetchone() is not None


def load_state(db: Database, key: str) -> dict[str, Any] | None:
    row = db.execute("SELECT value FROM rule_state WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def load_states(db: Database, prefix: str) -> dict[str, dict[str, Any]]:
    return {
        key: json.loads(value)
        for key, value in db.execute("SELECT key, value FROM rule_state WHERE key LIKE ? || '%'", [prefix])
    }


def save_state(db: Database, key: str, value: dict[str, Any], now: datetime) -> None:
    db.execute(
        """
        INSERT INTO rule_state (key, value, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """,
        [key, json.dumps(value, sort_keys=True), utcnow_iso(now)],
    )


def pending_count(db: Database) -> int:
    return db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]


def chats_of_latest(db: Database, key_prefix: str) -> list[int]:
    """Chats the most recent alert whose key starts with ``key_prefix`` was queued for."""
    row = db.execute(
        "SELECT id FROM alerts WHERE key LIKE ? || '%' ESCAPE '\\' ORDER BY id DESC LIMIT 1",
        [key_prefix.replace("%", "\\%").replace("_", "\\_")],
    ).fetchone()
    if row is None:
        return []
    return [r[0] for r in db.execute("SELECT chat_id FROM deliveries WHERE alert_id = ? ORDER BY chat_id", [row[0]])]


def alert_exists_like(db: Database, key_prefix: str, period: date) -> bool:
    """Whether an alert with this key prefix was decided for ``period`` (the key's last part)."""
    return db.execute(
        "SELECT 1 FROM alerts WHERE substr(key, 1, ?) = ? AND key LIKE '%:' || ?",
        [len(key_prefix), key_prefix, period.isoformat()],
    ).fetchone() is not None
