"""Opening the database: one connection, WAL, foreign keys, migrations applied."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from bot.store.migrations import MIGRATIONS


def connect(path: Path | str) -> Database:
    """Open ``path`` (``":memory:"`` for a throwaway database) with the bot's pragmas."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    return db


def open_db(path: Path | str) -> Database:
    """Open the database and bring its schema up to date."""
    db = connect(path)
    MIGRATIONS.apply(db)
    return db


def utcnow_iso(now: datetime | None = None) -> str:
    """Timestamps are stored as ISO-8601 UTC text, e.g. ``2025-12-11T14:30:00+00:00``."""
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
