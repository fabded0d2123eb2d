"""Each chat's own extra tickers, watched on top of ``Settings.equity_watchlist``.

The /watch command writes through this module; the collector, the engine and the
commands read what is tracked through it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlite_utils import Database

from bot.store.db import utcnow_iso

if TYPE_CHECKING:
    from bot.config import Settings


def chat_symbols(db: Database, chat_id: int) -> list[str]:
    """The chat's own tickers, in the order they were added."""
    rows = db.execute("SELECT symbol FROM chat_watchlist WHERE chat_id = ? ORDER BY created_at, symbol", [chat_id])
    return [r[0] for r in rows]


def watched_equities(db: Database, settings: Settings) -> list[str]:
    """The bot's equity watchlist, then every chat's extras: what is polled and evaluated."""
    extra = [r[0] for r in db.execute("SELECT DISTINCT symbol FROM chat_watchlist ORDER BY symbol")]
    return list(dict.fromkeys([*settings.equity_watchlist, *extra]))


def chat_watched(db: Database, settings: Settings, chat_id: int) -> list[str]:
    """The stocks one chat watches: the bot's watchlist, then its own."""
    return list(dict.fromkeys([*settings.equity_watchlist, *chat_symbols(db, chat_id)]))


def chat_tracked(db: Database, settings: Settings, chat_id: int) -> list[str]:
    """Every symbol one chat can ask about: crypto, then the stocks it watches."""
    return list(dict.fromkeys([*settings.crypto_symbols, *chat_watched(db, settings, chat_id)]))


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


def has_daily_bars(db: Database, symbol: str) -> bool:
    """Whether the store holds any daily bar of ``symbol``."""
    row = db.execute("SELECT 1 FROM bars WHERE symbol = ? AND interval = '1d' LIMIT 1", [symbol]).fetchone()
    return row is not None
