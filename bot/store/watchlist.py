"""Each chat's own extra tickers, watched on top of ``Settings.equity_watchlist``.

The collector and the engine read every chat's extras straight from ``chat_watchlist``;
this module is what the /watch command writes through.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from bot.store.db import utcnow_iso


def chat_symbols(db: Database, chat_id: int) -> list[str]:
    """The chat's own tickers, in the order they were added."""
    rows = db.execute(
        "SELECT symbol FROM chat_watchlist WHERE chat_id = ? ORDER BY created_at, symbol", [chat_id]
    )
    return [r[0] for r in rows]


def add_symbol(db: Database, chat_id: int, symbol: str, now: datetime) -> bool:
    """Add ``symbol`` to the chat's list (the chat must be stored); False if it was there."""
    cursor = db.execute(
        "INSERT INTO chat_watchlist (chat_id, symbol, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [chat_id, symbol, utcnow_iso(now)],
    )
    return cursor.rowcount > 0


def remove_symbol(db: Database, chat_id: int, symbol: str) -> bool:
    """Remove ``symbol`` from the chat's list; False if it was not on it."""
    cursor = db.execute("DELETE FROM chat_watchlist WHERE chat_id = ? AND symbol = ?", [chat_id, symbol])
    return cursor.rowcount > 0


def recorded_symbols(db: Database) -> list[str]:
    """Symbols with daily bars in the store, sorted (what replay mode can offer)."""
    return [r[0] for r in db.execute("SELECT DISTINCT symbol FROM bars WHERE interval = '1d' ORDER BY symbol")]


def has_daily_bars(db: Database, symbol: str) -> bool:
    """Whether the store holds any daily bar of ``symbol``."""
    row = db.execute("SELECT 1 FROM bars WHERE symbol = ? AND interval = '1d' LIMIT 1", [symbol]).fetchone()
    return row is not None
