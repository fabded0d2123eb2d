"""Per-chat preferences the engine applies: settings and mutes (own levels: :mod:`bot.store.own_levels`).

Settings are stored by name (``chat_values``), their values as JSON; which settings
exist and how their values read is declared by the rules (``bot.rules.registry``). A
setting a chat never chose is absent, so changing the bot's default reaches every chat
that never chose its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
    mutes_end: datetime | None = None  # when the first of its mutes runs out


def load_audience(db: Database, now: datetime, chat_ids: Collection[int] | None = None) -> list[AudienceRow]:
    """Every subscribed, unblocked chat (or those of ``chat_ids`` that are) with what it chose
    and its current mutes."""
    among, args = "", list[int]()
    if chat_ids is not None:
        args = sorted(chat_ids)
        among = f" AND chat_id IN ({','.join('?' * len(args))})"
    mutes: dict[int, set[str]] = {}
    ends: dict[int, str] = {}
    for chat_id, kind, until in db.execute(
        f"SELECT chat_id, kind, until FROM chat_mutes WHERE until > ?{among}", [utcnow_iso(now), *args]
    ):
        mutes.setdefault(chat_id, set()).add(kind)
        ends[chat_id] = min(until, ends.get(chat_id, until))
    chosen: dict[int, dict[str, str]] = {}
    for chat_id, name, value in db.execute(f"SELECT chat_id, name, value FROM chat_values WHERE 1{among}", args):
        chosen.setdefault(chat_id, {})[name] = value
    rows = db.execute(
        "SELECT id, language, timezone FROM chats WHERE subscribed = 1 AND blocked = 0"
        + among.replace("chat_id", "id")
        + " ORDER BY id",
        args,
    )
    names: dict[str, str] = {}  # one string per language and zone, not one per chat (100,000 chats: MBs)
    return [
        AudienceRow(
            chat_id, names.setdefault(language, language), names.setdefault(timezone, timezone),
            chosen.get(chat_id, NOTHING_CHOSEN), frozenset(mutes[chat_id]) if chat_id in mutes else NO_MUTES,
            datetime.fromisoformat(ends[chat_id]) if chat_id in ends else None,
        )
        for chat_id, language, timezone in rows
    ]  # fmt: skip


NOTHING_CHOSEN: dict[str, str] = {}  # shared by every chat at the defaults: never changed
NO_MUTES: frozenset[str] = frozenset()


def audience_changes(db: Database, after: int) -> tuple[int, set[int]] | None:
    """The chats whose part of the audience changed since change number ``after`` (logged by
    triggers, migration m013) and the number of the last change; None if some of those changes
    were pruned from the log (read every chat again)."""
    last = last_audience_change(db)
    if last <= after:
        return after, set()
    rows = db.execute("SELECT seq, chat_id FROM audience_changes WHERE seq > ? ORDER BY seq", [after]).fetchall()
    if not rows or rows[0][0] != after + 1:
        return None
    return last, {chat_id for _, chat_id in rows}


def last_audience_change(db: Database) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audience_changes'").fetchone()
    return 0 if row is None else int(row[0])


def prune_audience_changes(db: Database, through: int) -> None:
    db.execute("DELETE FROM audience_changes WHERE seq <= ?", [through])


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


def set_mute(db: Database, chat_id: int, kind: str, until: datetime) -> None:
    db.execute(
        """
        INSERT INTO chat_mutes (chat_id, kind, until) VALUES (?, ?, ?)
        ON CONFLICT(chat_id, kind) DO UPDATE SET until = excluded.until
        """,
        [chat_id, kind, utcnow_iso(until)],
    )


# -- one chat's own view (the settings commands) ----------------------------------------


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
