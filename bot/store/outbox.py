"""Decided alerts, the outbox of their deliveries, and the rules' state: the one owner of these tables.

An alert is written in one transaction with the rule state it came from and the plan of
the chats it goes to (:mod:`bot.store.fanout`, which queues its deliveries here, a chunk of
chats at a time). :func:`record_alert` inserts an alert by its :class:`~bot.domain.AlertKey`;
if that key was decided before (a restart, a second evaluation) nothing is written, so no
alert is decided or queued twice.

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


def record_alert(db: Database, alert: Alert, now: datetime) -> int | None:
    """Store a new alert; None if its key was decided before (it is then queued for nobody again)."""
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
    if alert.follows is not None:  # the latest such alert about the symbol: this one answers it
        kind, period = alert.follows
        db.execute(
            """
            UPDATE alerts SET follows = (SELECT id FROM alerts WHERE kind = ? AND symbol = ? AND period = ?
                                         ORDER BY id DESC LIMIT 1)
            WHERE id = ?
            """,
            [kind, key.symbol, period, cursor.lastrowid],
        )
    return cursor.lastrowid


@dataclass(frozen=True, slots=True)
class Message:
    """What to queue for one chat: the alerts of one message (most important first), or an edit
    of the chat's first message of ``thread`` (its earlier alerts, updated in place)."""

    chat_id: int
    alert_ids: tuple[int, ...]
    thread: str | None = None
    edit: bool = False  # True: edit the thread's first message instead of sending a new one


def queue(db: Database, messages: Iterable[Message]) -> int:
    """Queue ``messages``, in order; an alert already queued for a chat is not queued for it again.
    Returns how many deliveries were queued. Call inside ``db.atomic()`` with the alerts.

    Messages that open or update a thread are queued one by one (the thread's first message is
    looked up); runs of the others go in a few statements however many chats there are."""
    queued, run = 0, list[Message]()
    for message in messages:
        if message.edit and message.thread:
            queued += _queue_many(db, run)
            run = []
            queued += _queue_one(db, message)
        else:
            run.append(message)
    return queued + _queue_many(db, run)


def _queue_one(db: Database, message: Message) -> int:
    edit_of = thread_start(db, message.chat_id, message.thread) if message.thread else None
    cursor = db.execute(
        "INSERT INTO deliveries (chat_id, thread, edit_of) VALUES (?, ?, ?)", [message.chat_id, message.thread, edit_of]
    )
    delivery_id = cursor.lastrowid
    inserted = db.conn.executemany(
        "INSERT OR IGNORE INTO delivery_alerts (delivery_id, alert_id, chat_id, position) VALUES (?, ?, ?, ?)",
        [(delivery_id, alert_id, message.chat_id, i) for i, alert_id in enumerate(message.alert_ids)],
    ).rowcount
    if inserted == 0:  # every alert of it was queued for this chat before
        db.execute("DELETE FROM deliveries WHERE id = ?", [delivery_id])
        return 0
    return 1


def _queue_many(db: Database, messages: list[Message]) -> int:
    """Deliveries with ids in a row after the last one (one writer: the engine, in a transaction)."""
    if not messages:
        return 0
    first = int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM deliveries").fetchone()[0])
    ids = range(first, first + len(messages))
    db.conn.executemany(
        "INSERT INTO deliveries (id, chat_id, thread) VALUES (?, ?, ?)",
        [(i, m.chat_id, m.thread) for i, m in zip(ids, messages, strict=True)],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO delivery_alerts (delivery_id, alert_id, chat_id, position) VALUES (?, ?, ?, ?)",
        [
            (i, alert_id, m.chat_id, k)
            for i, m in zip(ids, messages, strict=True)
            for k, alert_id in enumerate(m.alert_ids)
        ],
    )
    empty = db.execute(  # every alert of it was queued for its chat before
        """
        DELETE FROM deliveries WHERE id BETWEEN ? AND ?
        AND NOT EXISTS (SELECT 1 FROM delivery_alerts da WHERE da.delivery_id = deliveries.id)
        """,
        [first, ids[-1]],
    ).rowcount
    return len(messages) - empty


def thread_start(db: Database, chat_id: int, thread: str) -> int | None:
    """The delivery that opened ``thread`` in a chat (an edit of the thread edits its message)."""
    row = db.execute(
        "SELECT id FROM deliveries WHERE chat_id = ? AND thread = ? AND edit_of IS NULL ORDER BY id LIMIT 1",
        [chat_id, thread],
    ).fetchone()
    return None if row is None else int(row[0])


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


def payloads_in_period(db: Database, kind: AlertKind, period: date) -> list[str]:
    """The stored payloads of the alerts of ``kind`` decided for ``period`` (any symbol), oldest first."""
    rows = db.execute(
        "SELECT payload FROM alerts WHERE kind = ? AND period = ? ORDER BY id", [kind, period.isoformat()]
    )
    return [str(row[0]) for row in rows]


def latest_alert(db: Database, kind: AlertKind, symbol: str, param: str) -> int | None:
    """The id of the most recent alert of ``kind`` about ``symbol`` with ``param``."""
    row = db.execute(
        "SELECT id FROM alerts WHERE kind = ? AND symbol = ? AND param = ? ORDER BY id DESC LIMIT 1",
        [kind, symbol, param],
    ).fetchone()
    return None if row is None else int(row[0])


def alert_for_chat(db: Database, alert_id: int, chat_id: int) -> tuple[str, str] | None:
    """``(kind, payload)`` of the alert ``alert_id`` if it was queued for ``chat_id`` (a button
    under it names it), else None."""
    row = db.execute(
        "SELECT a.kind, a.payload FROM alerts a JOIN delivery_alerts d ON d.alert_id = a.id"
        " WHERE a.id = ? AND d.chat_id = ?",
        [alert_id, chat_id],
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def chats_queued(db: Database, alert_id: int) -> list[int]:
    """Chats ``alert_id`` was queued for."""
    rows = db.execute("SELECT chat_id FROM delivery_alerts WHERE alert_id = ? ORDER BY chat_id", [alert_id])
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


def wait_for_telegram(db: Database, delivery_id: int, until: datetime, error: str, now: datetime) -> None:
    """Telegram could not be reached: try again at ``until``, remembering when this began."""
    db.execute(
        """
        UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
            unreachable_since = COALESCE(unreachable_since, ?)
        WHERE id = ?
        """,
        [utcnow_iso(until), error, utcnow_iso(now), delivery_id],
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


def expire(db: Database, decided_before: datetime, *, skip: Collection[int] = ()) -> dict[int, int]:
    """Replace the pending deliveries whose alerts were all decided before ``decided_before`` (and
    of which nothing was sent yet) with one summary delivery per chat that lists their alerts:
    a chat gets one message, "5 alerts expired …", not five stale ones. An unsent summary of the
    chat takes in the newly expired alerts, so a long outage still ends in one summary. In one
    transaction: the alerts are never lost between the two. ``skip``: deliveries being sent now.
    Returns how many deliveries each chat had expire."""
    rows = db.execute(
        """
        SELECT d.id, d.chat_id, d.unreachable_since FROM deliveries d
        WHERE d.status = 'pending' AND d.summary = 0 AND d.parts_sent = 0
          AND (SELECT max(a.decided_at) FROM delivery_alerts da JOIN alerts a ON a.id = da.alert_id
               WHERE da.delivery_id = d.id) < ?
        ORDER BY d.id
        """,
        [utcnow_iso(decided_before)],
    ).fetchall()
    by_chat: dict[int, list[tuple[int, str | None]]] = {}
    for delivery_id, chat_id, unreachable in rows:
        if delivery_id not in skip:
            by_chat.setdefault(chat_id, []).append((delivery_id, unreachable))
    if not by_chat:
        return {}
    with db.atomic():
        for chat_id, expired in by_chat.items():
            since = min((u for _, u in expired if u), default=None)
            open_summary = db.execute(
                "SELECT id, unreachable_since FROM deliveries"
                " WHERE chat_id = ? AND status = 'pending' AND summary = 1 AND parts_sent = 0 ORDER BY id",
                [chat_id],
            ).fetchall()
            reusable = [(i, u) for i, u in open_summary if i not in skip]
            if reusable:
                summary_id, earlier = reusable[0]
                since = min((u for u in (earlier, since) if u), default=None)
                db.execute("UPDATE deliveries SET unreachable_since = ? WHERE id = ?", [since, summary_id])
            else:
                summary_id = db.execute(
                    "INSERT INTO deliveries (chat_id, summary, unreachable_since) VALUES (?, 1, ?)", [chat_id, since]
                ).lastrowid
            ids = [delivery_id for delivery_id, _ in expired]
            marks = ",".join("?" * len(ids))
            db.execute(f"UPDATE delivery_alerts SET delivery_id = ? WHERE delivery_id IN ({marks})", [summary_id, *ids])
            db.execute(
                f"UPDATE deliveries SET status = 'dropped', last_error = ? WHERE id IN ({marks})",
                [f"expired: listed in summary delivery {summary_id}", *ids],
            )
    return {chat_id: len(expired) for chat_id, expired in by_chat.items()}
