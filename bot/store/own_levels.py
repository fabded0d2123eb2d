"""A chat's own price alerts (``/alert``): each a level of a symbol, a direction, and how it fires.

A level fires ``once`` (the default for new ones: it fires, then waits for a re-arm) or at
``every`` crossing, and may expire (``expires_in`` after it was armed). One that fired or
expired is kept, ``ended``, so the chat can see it and re-arm it; only armed ones are in the
engine's level index (:func:`armed_levels`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlite_utils import Database

from bot.store.db import utcnow_iso

MAX_CHAT_LEVELS = 50  # own levels a chat may have, armed or not
Mode = Literal["once", "every"]
State = Literal["armed", "fired", "expired"]
_COLUMNS = "id, symbol, price, direction, mode, expires_in, expires_at, ended, ended_at"


@dataclass(frozen=True, slots=True)
class Level:
    """A chat's own key level: alert when ``symbol`` crosses ``price`` in ``direction``."""

    id: int
    symbol: str
    price: float
    direction: str  # "above" | "below"
    mode: str = "every"  # "once" | "every"
    expires_in: timedelta | None = None  # how long an arming lasts
    expires_at: datetime | None = None
    ended: str | None = None  # "fired" | "expired": waiting for a re-arm
    ended_at: datetime | None = None

    def state(self, now: datetime) -> State:
        if self.ended == "fired":
            return "fired"
        if self.ended == "expired" or (self.expires_at is not None and self.expires_at <= now):
            return "expired"
        return "armed"


def _level(row: tuple[object, ...]) -> Level:
    id_, symbol, price, direction, mode, expires_in, expires_at, ended, ended_at = row
    return Level(
        int(str(id_)),
        str(symbol),
        float(str(price)),
        str(direction),
        str(mode),
        None if expires_in is None else timedelta(seconds=float(str(expires_in))),
        None if expires_at is None else datetime.fromisoformat(str(expires_at)),
        None if ended is None else str(ended),
        None if ended_at is None else datetime.fromisoformat(str(ended_at)),
    )


def armed_levels(db: Database, now: datetime | None = None) -> list[tuple[int, str, float, str, str]]:
    """``(chat_id, symbol, price, above|below, once|every)`` of every armed level (not expired at
    ``now``, if given): what the engine's level index holds."""
    sql = "SELECT chat_id, symbol, price, direction, mode FROM chat_levels WHERE ended IS NULL"
    args: list[str] = []
    if now is not None:
        sql += " AND (expires_at IS NULL OR expires_at > ?)"
        args.append(utcnow_iso(now))
    return [tuple(r) for r in db.execute(sql + " ORDER BY id", args)]


def add_level(
    db: Database,
    chat_id: int,
    symbol: str,
    price: float,
    direction: str,
    now: datetime,
    *,
    mode: Mode = "every",
    expires_in: timedelta | None = None,
) -> int:
    expires_at = None if expires_in is None else utcnow_iso(now + expires_in)
    cursor = db.execute(
        "INSERT INTO chat_levels (chat_id, symbol, price, direction, created_at, mode, expires_in, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            chat_id, symbol, price, direction, utcnow_iso(now), mode,
            None if expires_in is None else expires_in.total_seconds(), expires_at,
        ],
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def levels_of(db: Database, chat_id: int) -> list[Level]:
    """One chat's own levels, by symbol and price."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM chat_levels WHERE chat_id = ? ORDER BY symbol, price, id", [chat_id])
    return [_level(r) for r in rows]


def level_of(db: Database, chat_id: int, level_id: int) -> Level | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM chat_levels WHERE chat_id = ? AND id = ?", [chat_id, level_id]).fetchone()
    return _level(row) if row else None


def find_level(db: Database, chat_id: int, symbol: str, price: float, direction: str) -> Level | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM chat_levels WHERE chat_id = ? AND symbol = ? AND price = ? AND direction = ?",
        [chat_id, symbol, price, direction],
    ).fetchone()
    return _level(row) if row else None


def delete_level(db: Database, chat_id: int, level_id: int) -> Level | None:
    """Delete one of the chat's own levels; None if the chat has no level with that id."""
    level = level_of(db, chat_id, level_id)
    if level is not None:
        db.execute("DELETE FROM chat_levels WHERE id = ?", [level_id])
    return level


def mark_fired(db: Database, chat_ids: Iterable[int], symbol: str, price: float, direction: str, now: datetime) -> int:
    """The ``once`` levels of these chats at (symbol, price, direction) fired: they wait for a re-arm."""
    chats = list(chat_ids)
    if not chats:
        return 0
    marks = ",".join("?" * len(chats))
    return db.execute(
        f"UPDATE chat_levels SET ended = 'fired', ended_at = ? WHERE mode = 'once' AND ended IS NULL"
        f" AND symbol = ? AND price = ? AND direction = ? AND chat_id IN ({marks})",
        [utcnow_iso(now), symbol, price, direction, *chats],
    ).rowcount


def expire(db: Database, now: datetime) -> list[tuple[int, Level]]:
    """Every armed level whose time is up, marked expired: ``(chat_id, level)`` for each."""
    rows = db.execute(
        f"SELECT chat_id, {_COLUMNS} FROM chat_levels WHERE ended IS NULL AND expires_at <= ?", [utcnow_iso(now)]
    ).fetchall()
    if rows:
        db.execute(
            "UPDATE chat_levels SET ended = 'expired', ended_at = expires_at WHERE ended IS NULL AND expires_at <= ?",
            [utcnow_iso(now)],
        )
    return [(int(row[0]), _level(row[1:])) for row in rows]


def rearm(db: Database, chat_id: int, level_id: int, now: datetime) -> Level | None:
    """Arm a level that fired or expired again (its expiry counted from now); None: no such level."""
    level = level_of(db, chat_id, level_id)
    if level is None:
        return None
    expires_at = None if level.expires_in is None else utcnow_iso(now + level.expires_in)
    db.execute(
        "UPDATE chat_levels SET ended = NULL, ended_at = NULL, expires_at = ? WHERE id = ?", [expires_at, level_id]
    )
    return level_of(db, chat_id, level_id)
