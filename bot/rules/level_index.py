"""Who asked for each key level: the global levels and every chat's own, indexed by price.

Global levels (``DEFAULT_LEVELS``) go to every subscribed chat in both directions; a
chat's own level goes to that chat, upwards for ``above`` and downwards for ``below``.
Chats sharing a level share its state (in the symbol's :class:`LevelBook`) and its alert,
and are looked up by ``(symbol, level, direction)`` with no loop over chats.

:func:`audience` says who hears about a level; :func:`decide` walks one move through a book
and says who each crossing is for.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.rules.level_book import Crossing, LevelBook, Segment

DIRECTION_OF = {"above": "up", "below": "down"}
_BOOT = uuid.uuid4().hex[:8]  # versions are unique to this process, so a stored book is synced once
_VERSIONS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class LevelAudience:
    global_level: bool  # everyone hears it
    chats: frozenset[int]  # chats that asked for this level (besides everyone, if global)


@dataclass
class LevelOwners:
    """The levels of every symbol and who owns them; ``version`` changes with every reload."""

    global_levels: dict[str, frozenset[float]] = field(default_factory=dict)
    owners: dict[str, dict[float, dict[str, frozenset[int]]]] = field(default_factory=dict)  # symbol → level → dir
    version: str = ""

    def load(
        self, global_levels: Mapping[str, Iterable[float]], chat_levels: Iterable[tuple[int, str, float, str]]
    ) -> None:
        """(Re)build the index from the global levels and ``(chat_id, symbol, price, above|below)`` rows."""
        owners: dict[str, dict[float, dict[str, set[int]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
        for chat_id, symbol, price, direction in chat_levels:
            owners[symbol][float(price)][DIRECTION_OF[direction]].add(chat_id)
        self.owners = {
            s: {p: {d: frozenset(c) for d, c in dirs.items()} for p, dirs in levels.items()}
            for s, levels in owners.items()
        }
        self.global_levels = {s.upper(): frozenset(map(float, ps)) for s, ps in global_levels.items()}
        self.version = f"{_BOOT}:{next(_VERSIONS)}"

    def wanted(self, symbol: str) -> set[float]:
        """Every level of ``symbol``: the global ones and every chat's."""
        return set(self.global_levels.get(symbol, ())) | set(self.owners.get(symbol, {}))


def audience(
    level: float,
    direction: str | None,
    owners: Mapping[float, Mapping[str, frozenset[int]]],
    global_levels: frozenset[float],
) -> LevelAudience | None:
    """Who hears about ``level`` moving in ``direction`` (None: either way, as a chop), or None: nobody."""
    by_direction = owners.get(level, {})
    if direction is None:
        chats = frozenset().union(*by_direction.values()) if by_direction else frozenset()
    else:
        chats = by_direction.get(direction, frozenset())
    is_global = level in global_levels
    return LevelAudience(is_global, frozenset(chats)) if chats or is_global else None


def decide(
    book: LevelBook,
    segment: Segment,
    owners: Mapping[float, Mapping[str, frozenset[int]]],
    global_levels: frozenset[float],
) -> list[tuple[Crossing, LevelAudience]]:
    """The crossings of one move and who asked for each (what the level benchmark times)."""
    if not book.prices:
        return []
    decisions = []
    for crossing in book.observe(segment):
        heard = audience(crossing.level, crossing.direction, owners, global_levels)
        if heard is not None:
            decisions.append((crossing, heard))
    return decisions
