"""Decided alerts, the outbox of their deliveries, and the rules' state: the one owner of these tables.

An alert and its deliveries are written in one transaction with the rule state it came
from (the engine wraps the calls in ``db.atomic()``). :func:`record_alert` inserts an
alert by its :class:`~bot.domain.AlertKey`; if that key was decided before (a restart, a
second evaluation) nothing is written, so no alert is decided or queued twice.

Deliveries start ``pending``; the sender marks them ``sent`` only after Telegram accepted
the message (:func:`mark_sent`, with :func:`mark_progress` for each part of a
multi-part delivery), or ``dropped`` (:func:`drop`, :func:`drop_chat`).

Rule states are typed: each is a dataclass stored as JSON through pydantic under a
:class:`RuleKey` (rule, symbol, parameter) and read back as the same type.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlite_utils import Database

from bot.domain import Alert, AlertKey, AlertKind, encode_alert
from bot.store.db import utcnow_iso

T = TypeVar("T")

# -- alerts ------------------------------------------------------------------------------


def record_alert(db: Database, alert: Alert, chat_ids: Iterable[int], now: datetime) -> int | None:
    """Store a new alert and queue it for ``chat_ids``; None if its key was decided before."""
    key = alert.key
    cursor = db.execute(
        """
        INSERT INTO alerts (key, kind, symbol, param, direction, period, time, payload, decided_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING
        """,
        [str(key), key.kind, key.symbol, key.param, key.direction, key.period,
         utcnow_iso(alert.time), encode_alert(alert), utcnow_iso(now)],
    )  # fmt: skip
    if cursor.rowcount == 0:
        return None
    alert_id = cursor.lastrowid
    db.conn.executemany(
        "INSERT OR IGNORE INTO deliveries (alert_id, chat_id) VALUES (?, ?)",
        [(alert_id, chat_id) for chat_id in chat_ids],
    )
    return alert_id


def alert_exists(db: Database, key: AlertKey) -> bool:
    row = db.execute(
        "SELECT 1 FROM alerts WHERE kind = ? AND symbol = ? AND param = ? AND direction = ? AND period = ?",
        [key.kind, key.symbol, key.param, key.direction, key.period],
    ).fetchone()
    return row is not None


def decided_in_period(db: Database, kind: AlertKind, symbol: str, period: date) -> bool:
    """Whether an alert of ``kind`` about ``symbol`` was decided for ``period`` (any parameter)."""
    row = db.execute(
        "SELECT 1 FROM alerts WHERE kind = ? AND symbol = ? AND period = ?", [kind, symbol, period.isoformat()]
    ).fetchone()
    return row is not None


def chats_of_latest(db: Database, kind: AlertKind, symbol: str, param: str) -> list[int]:
    """Chats the most recent alert of ``kind`` about ``symbol`` with ``param`` was queued for."""
    row = db.execute(
        "SELECT id FROM alerts WHERE kind = ? AND symbol = ? AND param = ? ORDER BY id DESC LIMIT 1",
        [kind, symbol, param],
    ).fetchone()
    if row is None:
        return []
    rows = db.execute("SELECT chat_id FROM deliveries WHERE alert_id = ? ORDER BY chat_id", [row[0]])
    return [chat_id for (chat_id,) in rows]


# -- rule state --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class RuleKey:
    """Where one rule keeps its state: the rule, the symbol, and the parameter set (if any)."""

    rule: str
    symbol: str
    param: str = ""

    def __str__(self) -> str:
        return ":".join(part for part in (self.rule, self.symbol, self.param) if part)


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]


def save_state(db: Database, key: RuleKey, state: Any, now: datetime) -> None:
    """Store ``state`` (a dataclass) under ``key``, replacing what was there."""
    value = _adapter(type(state)).dump_json(state).decode()
    db.execute(
        """
        INSERT INTO rule_states (rule, symbol, param, value, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(rule, symbol, param) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """,
        [key.rule, key.symbol, key.param, value, utcnow_iso(now)],
    )


def load_state(db: Database, key: RuleKey, kind: type[T]) -> T | None:
    """The state stored under ``key`` as a ``kind``, or None if there is none."""
    row = db.execute(
        "SELECT value FROM rule_states WHERE rule = ? AND symbol = ? AND param = ?", [key.rule, key.symbol, key.param]
    ).fetchone()
    if row is None:
        return None
    state: T = _adapter(kind).validate_json(row[0])
    return state


def load_states(db: Database, rule: str, kind: type[T]) -> dict[RuleKey, T]:
    """Every state of ``rule``, by key."""
    rows = db.execute("SELECT symbol, param, value FROM rule_states WHERE rule = ? ORDER BY symbol, param", [rule])
    adapter = _adapter(kind)
    return {RuleKey(rule, symbol, param): adapter.validate_json(value) for symbol, param, value in rows}


# -- deliveries --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    """One delivery due now, with what is needed to render it for its chat."""

    delivery_id: int
    alert_id: int
    chat_id: int
    attempts: int
    kind: str  # the alert's kind and payload, read back by the rule registry
    payload: str
    language: str
    timezone: str
    parts_sent: int = 0
    charts: bool = True


def due_deliveries(db: Database, now: datetime, limit: int = 100, *, skip_chats: Collection[int] = ()) -> list[Pending]:
    """Due deliveries, oldest first, at most one per chat and none for ``skip_chats``."""
    rows = db.execute(
        """
        SELECT d.id, d.alert_id, d.chat_id, d.attempts, a.kind, a.payload, c.language, c.timezone,
               d.parts_sent, COALESCE(v.value, 'true') != 'false'
        FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN chats c ON c.id = d.chat_id
        LEFT JOIN chat_values v ON v.chat_id = d.chat_id AND v.name = 'charts'
        WHERE d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)
        ORDER BY d.id LIMIT ?
        """,
        [utcnow_iso(now), 4 * limit + len(skip_chats)],
    )
    seen = set(skip_chats)
    due: list[Pending] = []
    for delivery_id, alert_id, chat_id, attempts, kind, payload, language, tz, parts_sent, charts in rows:
        if len(due) >= limit:
            break
        if chat_id in seen:
            continue
        seen.add(chat_id)
        due.append(
            Pending(delivery_id, alert_id, chat_id, attempts, kind, payload, language, tz, parts_sent, bool(charts))
        )
    return due


def mark_progress(db: Database, delivery_id: int, parts_sent: int, message_id: int | None) -> None:
    """Telegram accepted ``parts_sent`` messages of a delivery that has more to send."""
    db.execute(
        "UPDATE deliveries SET parts_sent = ?, message_id = COALESCE(message_id, ?) WHERE id = ?",
        [parts_sent, message_id, delivery_id],
    )


def mark_sent(db: Database, delivery_id: int, parts_sent: int, message_id: int | None, now: datetime) -> None:
    """Telegram accepted every message of the delivery."""
    db.execute(
        """
        UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1, parts_sent = ?,
            message_id = COALESCE(message_id, ?)
        WHERE id = ?
        """,
        [utcnow_iso(now), parts_sent, message_id, delivery_id],
    )


def postpone(db: Database, delivery_id: int, until: datetime, error: str, *, attempt: bool) -> None:
    """Try the delivery again at ``until``; ``attempt`` counts this try against it."""
    db.execute(
        "UPDATE deliveries SET attempts = attempts + ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        [int(attempt), utcnow_iso(until), error, delivery_id],
    )


def drop(db: Database, delivery_id: int, error: str) -> None:
    """Give up on one delivery (a request Telegram will never accept)."""
    db.execute(
        "UPDATE deliveries SET status = 'dropped', attempts = attempts + 1, last_error = ? WHERE id = ?",
        [error, delivery_id],
    )


def drop_chat(db: Database, chat_id: int, error: str) -> int:
    """Give up on every pending delivery of a chat that is gone; returns how many."""
    cursor = db.execute(
        "UPDATE deliveries SET status = 'dropped', last_error = ? WHERE chat_id = ? AND status = 'pending'",
        [error, chat_id],
    )
    return cursor.rowcount


def pending_count(db: Database) -> int:
    count: int = db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
    return count
