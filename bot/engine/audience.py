"""Who gets what: the subscribed chats, each with its effective settings and current mutes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.config import Settings
from bot.rules.registry import decode_values, effective
from bot.store import prefs


@dataclass(frozen=True, slots=True)
class ChatPrefs:
    chat_id: int
    language: str
    timezone: str
    values: Mapping[str, Any]  # every setting: what the chat chose, else the bot's default
    muted: frozenset[str]  # alert kinds muted right now ("all" mutes every kind)

    def wants(self, kind: str) -> bool:
        return "all" not in self.muted and kind not in self.muted


def load_audience(db: Database, settings: Settings, now: datetime) -> list[ChatPrefs]:
    """Every subscribed, unblocked chat with its effective settings and current mutes."""
    return [
        ChatPrefs(row.chat_id, row.language, row.timezone, effective(decode_values(row.chosen), settings), row.muted)
        for row in prefs.load_audience(db, now)
    ]
