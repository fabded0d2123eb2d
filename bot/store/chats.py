"""Chats: who talked to the bot, who is subscribed, who blocked it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.store.db import utcnow_iso


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    username: str | None
    language: str
    timezone: str
    subscribed: bool
    blocked: bool
    created_at: str
    updated_at: str


def _row_to_chat(row: dict[str, Any]) -> Chat:
    return Chat(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        username=row["username"],
        language=row["language"],
        timezone=row["timezone"],
        subscribed=bool(row["subscribed"]),
        blocked=bool(row["blocked"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def get_chat(db: Database, chat_id: int) -> Chat | None:
    rows = list(db.query("SELECT * FROM chats WHERE id = ?", [chat_id]))
    return _row_to_chat(rows[0]) if rows else None


def remember_chat(
    db: Database,
    chat_id: int,
    chat_type: str,
    *,
    title: str | None = None,
    username: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> Chat:
    """Insert the chat or refresh its names; ``language`` is only set on first sight."""
    stamp = utcnow_iso(now)
    db.execute(
        """
        INSERT INTO chats (id, type, title, username, language, created_at, updated_at)
        VALUES (?, ?, ?, ?, COALESCE(?, 'en'), ?, ?)
        ON CONFLICT(id) DO UPDATE SET
            type = excluded.type, title = excluded.title,
            username = excluded.username, updated_at = excluded.updated_at
        """,
        [chat_id, chat_type, title, username, language, stamp, stamp],
    )
    chat = get_chat(db, chat_id)
    assert chat is not None
    return chat


def _set_flag(db: Database, chat_id: int, column: str, value: bool, now: datetime | None) -> bool:
    cursor = db.execute(
        f"UPDATE chats SET {column} = ?, updated_at = ? WHERE id = ? AND {column} != ?",
        [int(value), utcnow_iso(now), chat_id, int(value)],
    )
    return cursor.rowcount > 0


def set_subscribed(db: Database, chat_id: int, subscribed: bool, now: datetime | None = None) -> bool:
    """Subscribe or unsubscribe; returns False if nothing changed. Subscribing also unblocks."""
    if subscribed:
        _set_flag(db, chat_id, "blocked", False, now)
    return _set_flag(db, chat_id, "subscribed", subscribed, now)


def set_blocked(db: Database, chat_id: int, blocked: bool, now: datetime | None = None) -> bool:
    """Mark a chat that blocked or removed the bot (or came back); returns False if unchanged."""
    return _set_flag(db, chat_id, "blocked", blocked, now)


def set_language(db: Database, chat_id: int, language: str, now: datetime | None = None) -> None:
    db.execute(
        "UPDATE chats SET language = ?, updated_at = ? WHERE id = ?",
        [language, utcnow_iso(now), chat_id],
    )


def set_timezone(db: Database, chat_id: int, timezone: str, now: datetime | None = None) -> None:
    db.execute(
        "UPDATE chats SET timezone = ?, updated_at = ? WHERE id = ?",
        [timezone, utcnow_iso(now), chat_id],
    )


def subscriber_count(db: Database) -> int:
    count: int = db.execute("SELECT count(*) FROM chats WHERE subscribed = 1 AND blocked = 0").fetchone()[0]
    return count


def subscribed_chat_ids(db: Database) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM chats WHERE subscribed = 1 AND blocked = 0 ORDER BY id")]


# -- channels managed from a private chat ------------------------------------------------------


def managing(db: Database, chat_id: int) -> int | None:
    """The channel a private chat's settings commands act on (None: the chat itself)."""
    row = db.execute("SELECT managing FROM chats WHERE id = ?", [chat_id]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def set_managing(db: Database, chat_id: int, channel_id: int | None, now: datetime | None = None) -> None:
    db.execute("UPDATE chats SET managing = ?, updated_at = ? WHERE id = ?", [channel_id, utcnow_iso(now), chat_id])


def find_channels(db: Database, name: str) -> list[Chat]:
    """The channels the bot posts in named ``name``: its id, its @username, or its title (any case)."""
    text = name.strip().removeprefix("@")
    by_id = int(text) if text.lstrip("-").isdigit() and len(text) < 20 else None
    rows = db.query(
        """
        SELECT * FROM chats WHERE type = 'channel' AND blocked = 0
          AND (id = ? OR lower(username) = lower(?) OR lower(title) = lower(?))
        ORDER BY id
        """,
        [by_id, text, name.strip()],
    )
    return [_row_to_chat(row) for row in rows]
