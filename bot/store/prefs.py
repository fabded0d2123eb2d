"""Per-chat preferences the engine applies: thresholds, levels, mutes, heads-up.

A NULL threshold in ``chat_settings`` means "the bot's default" (from Settings), so
changing a default reaches every chat that never chose its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.config import Settings
from bot.store.db import utcnow_iso


@dataclass(frozen=True, slots=True)
class ChatPrefs:
    chat_id: int
    language: str
    timezone: str
    corr_threshold: float
    corr_jump: float
    shock_pct: float
    move_pct: float
    charts: bool
    heads_up: bool
    muted: frozenset[str]  # alert kinds muted right now ("all" mutes every kind)

    def wants(self, kind: str) -> bool:
        return "all" not in self.muted and kind not in self.muted


def load_audience(db: Database, defaults: Settings, now: datetime) -> list[ChatPrefs]:
    """Every subscribed, unblocked chat with its effective settings and current mutes."""
    mutes: dict[int, set[str]] = {}
    for chat_id, kind in db.execute("SELECT chat_id, kind FROM chat_mutes WHERE until > ?", [utcnow_iso(now)]):
        mutes.setdefault(chat_id, set()).add(kind)
    rows = db.execute(
        """
        SELECT c.id, c.language, c.timezone, s.corr_threshold, s.corr_jump, s.shock_pct, s.move_pct,
               COALESCE(s.charts, 1), COALESCE(s.heads_up, 1)
        FROM chats c LEFT JOIN chat_settings s ON s.chat_id = c.id
        WHERE c.subscribed = 1 AND c.blocked = 0
        ORDER BY c.id
        """
    )
    audience = []
    for chat_id, language, timezone, corr, jump, shock, move, charts, heads_up in rows:
        audience.append(
            ChatPrefs(
                chat_id=chat_id,
                language=language,
                timezone=timezone,
                corr_threshold=defaults.corr_threshold if corr is None else corr,
                corr_jump=defaults.corr_jump if jump is None else jump,
                shock_pct=defaults.shock_pct if shock is None else shock,
                move_pct=defaults.move_pct if move is None else move,
                charts=bool(charts),
                heads_up=bool(heads_up),
                muted=frozenset(mutes.get(chat_id, ())),
            )
        )
    return audience


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


def set_thresholds(db: Database, chat_id: int, now: datetime, **values: float | bool | None) -> None:
    """Set some of corr_threshold, corr_jump, shock_pct, move_pct, charts, heads_up for one chat."""
    allowed = {"corr_threshold", "corr_jump", "shock_pct", "move_pct", "charts", "heads_up"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    db.execute(
        "INSERT INTO chat_settings (chat_id, updated_at) VALUES (?, ?) ON CONFLICT(chat_id) DO NOTHING",
        [chat_id, utcnow_iso(now)],
    )
    for name, value in values.items():
        db.execute(
            f"UPDATE chat_settings SET {name} = ?, updated_at = ? WHERE chat_id = ?",
            [value, utcnow_iso(now), chat_id],
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


@dataclass(frozen=True, slots=True)
class ChosenSettings:
    """What one chat chose; None means "the bot's default" (a chat that never chose has all None)."""

    corr_threshold: float | None = None
    corr_jump: float | None = None
    shock_pct: float | None = None
    move_pct: float | None = None
    charts: bool | None = None
    heads_up: bool | None = None


def chosen_settings(db: Database, chat_id: int) -> ChosenSettings:
    row = db.execute(
        "SELECT corr_threshold, corr_jump, shock_pct, move_pct, charts, heads_up FROM chat_settings WHERE chat_id = ?",
        [chat_id],
    ).fetchone()
    if row is None:
        return ChosenSettings()
    return ChosenSettings(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))


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
