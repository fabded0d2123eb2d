"""Per-chat preferences the engine applies: settings, own levels, mutes.

Settings are stored by name (``chat_values``), their values as JSON; which settings
exist and how their values read is declared by the rules (``bot.rules.registry``). A
setting a chat never chose is absent, so changing the bot's default reaches every chat
that never chose its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.store.db import utcnow_iso


@dataclass(frozen=True, slots=True)
class AudienceRow:
    """A subscribed chat as stored: its language, timezone, chosen settings (JSON) and mutes."""

    chat_id: int
    language: str
    timezone: str
    chosen: dict[str, str]  # setting name → its value as JSON; a setting not here is at the default
    muted: frozenset[str]  # alert kinds muted right now ("all" mutes every kind)


def load_audience(db: Database, now: datetime) -> list[AudienceRow]:
    """Every subscribed, unblocked chat with what it chose and its current mutes."""
    mutes: dict[int, set[str]] = {}
    for chat_id, kind in db.execute("SELECT chat_id, kind FROM chat_mutes WHERE until > ?", [utcnow_iso(now)]):
        mutes.setdefault(chat_id, set()).add(kind)
    chosen: dict[int, dict[str, str]] = {}
    for chat_id, name, value in db.execute("SELECT chat_id, name, value FROM chat_values"):
        chosen.setdefault(chat_id, {})[name] = value
    rows = db.execute("SELECT id, language, timezone FROM chats WHERE subscribed = 1 AND blocked = 0 ORDER BY id")
    return [
        AudienceRow(chat_id, language, timezone, chosen.get(chat_id, {}), frozenset(mutes.get(chat_id, ())))
        for chat_id, language, timezone in rows
    ]


def audience_version(db: Database) -> int:
    """Changes whenever the audience may have (kept by triggers, migration m011)."""
    version: int = db.execute("SELECT version FROM audience_version WHERE id = 1").fetchone()[0]
    return version


def next_mute_end(db: Database, now: datetime) -> datetime | None:
    """When the next mute that is on at ``now`` ends (the audience changes then)."""
    row = db.execute("SELECT min(until) FROM chat_mutes WHERE until > ?", [utcnow_iso(now)]).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def chosen_values(db: Database, chat_id: int) -> dict[str, str]:
    """What one chat chose: setting name → its value as JSON (the rest are at the bot's default)."""
    rows = db.execute("SELECT name, value FROM chat_values WHERE chat_id = ? ORDER BY name", [chat_id])
    return dict(rows.fetchall())


def set_value(db: Database, chat_id: int, name: str, value: str | None, now: datetime) -> None:
    """Store one setting of a chat (JSON), or forget it (None: back to the bot's default)."""
    if value is None:
        db.execute("DELETE FROM chat_values WHERE chat_id = ? AND name = ?", [chat_id, name])
        return
    db.execute(
        """
        INSERT INTO chat_values (chat_id, name, value, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(chat_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """,
        [chat_id, name, value, utcnow_iso(now)],
    )


def chat_levels(db: Database) -> list[tuple[int, str, float, str]]:
    """``(chat_id, symbol, price, above|below)`` of every chat's own levels."""
    return [tuple(r) for r in db.execute("SELECT chat_id, symbol, price, direction FROM chat_levels ORDER BY id")]


def add_level(db: Database, chat_id: int, symbol: str, price: float, direction: str, now: datetime) -> int:
    cursor = db.execute(
        "INSERT INTO chat_levels (chat_id, symbol, price, direction, created_at) VALUES (?, ?, ?, ?, ?)",
        [chat_id, symbol, price, direction, utcnow_iso(now)],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def set_mute(db: Database, chat_id: int, kind: str, until: datetime) -> None:
    db.execute(
        """
        INSERT INTO chat_mutes (chat_id, kind, until) VALUES (?, ?, ?)
        ON CONFLICT(chat_id, kind) DO UPDATE SET until = excluded.until
        """,
        [chat_id, kind, utcnow_iso(until)],
    )


# -- one chat's own view (the settings commands) ----------------------------------------

MAX_CHAT_LEVELS = 50  # own levels a chat may have


@dataclass(frozen=True, slots=True)
class Level:
    """A chat's own key level: alert when ``symbol`` crosses ``price`` in ``direction``."""

    id: int
    symbol: str
    price: float
    direction: str  # "above" | "below"


def levels_of(db: Database, chat_id: int) -> list[Level]:
    """One chat's own levels, by symbol and price."""
    rows = db.execute(
        "SELECT id, symbol, price, direction FROM chat_levels WHERE chat_id = ? ORDER BY symbol, price, id", [chat_id]
    )
    return [Level(*r) for r in rows]


def find_level(db: Database, chat_id: int, symbol: str, price: float, direction: str) -> Level | None:
    row = db.execute(
        "SELECT id, symbol, price, direction FROM chat_levels"
        " WHERE chat_id = ? AND symbol = ? AND price = ? AND direction = ?",
        [chat_id, symbol, price, direction],
    ).fetchone()
    return Level(*row) if row else None


def delete_level(db: Database, chat_id: int, level_id: int) -> Level | None:
    """Delete one of the chat's own levels; None if the chat has no level with that id."""
    row = db.execute(
        "SELECT id, symbol, price, direction FROM chat_levels WHERE chat_id = ? AND id = ?", [chat_id, level_id]
    ).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM chat_levels WHERE id = ?", [level_id])
    return Level(*row)


def active_mutes(db: Database, chat_id: int, now: datetime) -> dict[str, datetime]:
    """Alert kind (or "all") → end of its mute, for the mutes of one chat still running at ``now``."""
    rows = db.execute(
        "SELECT kind, until FROM chat_mutes WHERE chat_id = ? AND until > ? ORDER BY kind", [chat_id, utcnow_iso(now)]
    )
    return {kind: datetime.fromisoformat(until) for kind, until in rows}


def clear_mutes(db: Database, chat_id: int, kinds: Iterable[str] | None = None) -> int:
    """End the chat's mutes of ``kinds`` (every mute if None); returns how many rows went."""
    if kinds is None:
        return db.execute("DELETE FROM chat_mutes WHERE chat_id = ?", [chat_id]).rowcount
    kinds = list(kinds)
    marks = ",".join("?" * len(kinds))
    return db.execute(f"DELETE FROM chat_mutes WHERE chat_id = ? AND kind IN ({marks})", [chat_id, *kinds]).rowcount
