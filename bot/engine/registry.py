"""Every key level of every chat, indexed so one price move finds the crossed ones at once.

Global levels (``DEFAULT_LEVELS``) go to every subscribed chat in both directions; a
chat's own level goes to that chat, upwards for ``above`` and downwards for ``below``.
Chats sharing a level share its state and its alert, and are looked up by
``(symbol, level, direction)`` with no loop over chats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.engine.levels import Crossing, LevelBook, Segment

EVERYONE = None  # the recipients of a global level: every subscribed chat

DIRECTION_OF = {"above": "up", "below": "down"}


@dataclass(frozen=True, slots=True)
class LevelDecision:
    crossing: Crossing
    global_level: bool
    chats: frozenset[int]  # chats that asked for this level and direction (besides everyone, if global)


@dataclass
class LevelRegistry:
    band: float
    cooldown: timedelta
    books: dict[str, LevelBook] = field(default_factory=dict)
    global_levels: dict[str, frozenset[float]] = field(default_factory=dict)
    # symbol → level → direction ("up"/"down") → chat ids
    owners: dict[str, dict[float, dict[str, set[int]]]] = field(default_factory=dict)

    def book(self, symbol: str) -> LevelBook:
        if symbol not in self.books:
            self.books[symbol] = LevelBook(symbol, self.band, self.cooldown)
        return self.books[symbol]

    def load(
        self,
        global_levels: Mapping[str, Iterable[float]],
        chat_levels: Iterable[tuple[int, str, float, str]],
    ) -> None:
        """(Re)build the index from the global levels and ``(chat_id, symbol, price, above|below)`` rows."""
        owners: dict[str, dict[float, dict[str, set[int]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
        for chat_id, symbol, price, direction in chat_levels:
            owners[symbol][float(price)][DIRECTION_OF[direction]].add(chat_id)
        self.owners = {s: {p: dict(d) for p, d in levels.items()} for s, levels in owners.items()}
        self.global_levels = {s.upper(): frozenset(map(float, ps)) for s, ps in global_levels.items()}
        for symbol in set(self.owners) | set(self.global_levels) | set(self.books):
            wanted = set(self.global_levels.get(symbol, ())) | set(self.owners.get(symbol, {}))
            self.book(symbol).sync(wanted)

    def symbols(self) -> list[str]:
        return sorted(s for s, b in self.books.items() if b.prices)

    def decide(self, segment: Segment) -> list[LevelDecision]:
        """The crossings of one move and who asked for each; muted repeats (cooldown) are dropped."""
        book = self.books.get(segment.symbol)
        if book is None or not book.prices:
            return []
        decisions = []
        owners = self.owners.get(segment.symbol, {})
        global_levels = self.global_levels.get(segment.symbol, frozenset())
        for crossing in book.observe(segment):
            if not crossing.cooled_down:
                continue
            chats = owners.get(crossing.level, {}).get(crossing.direction, ())
            is_global = crossing.level in global_levels
            if chats or is_global:
                decisions.append(LevelDecision(crossing, is_global, frozenset(chats)))
        return decisions
