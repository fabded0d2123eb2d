"""Who gets what: the subscribed chats, each with its effective settings and current mutes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.config import Settings
from bot.rules.registry import decode_values, effective
from bot.store import prefs

T = TypeVar("T")


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


class AudienceCache:
    """The audience in memory: read again only when the store says it changed (a chat subscribed,
    left, changed a setting or a mute) or a mute ran out, not at every poll."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.loads = 0
        self._chats: list[ChatPrefs] = []
        self._version: int | None = None
        self._until: datetime | None = None  # a mute ends then: read again
        self._loaded_at: datetime | None = None
        self._memo: dict[str, Any] = {}

    def at(self, now: datetime) -> list[ChatPrefs]:
        version = prefs.audience_version(self.db)
        stale = (
            version != self._version
            or self._loaded_at is None
            or now < self._loaded_at  # a clock set back (a replay starting over)
            or (self._until is not None and now >= self._until)
        )
        if stale:
            self._chats = load_audience(self.db, self.settings, now)
            self._memo.clear()
            self._version, self._until, self._loaded_at = version, prefs.next_mute_end(self.db, now), now
            self.loads += 1
        return self._chats

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """``make()`` for the audience :meth:`at` returned last, kept until it is read again (what
        each rule's chats are, grouped by their settings: a loop over every chat, once)."""
        if key not in self._memo:
            self._memo[key] = make()
        value: T = self._memo[key]
        return value
