"""SQLite persistence: migrations, chats, settings (and, later, prices and alerts)."""

from bot.store.db import open_db

__all__ = ["open_db"]
