"""Who asked for each key level: the global levels and every chat's own, indexed by price.

Global levels (``DEFAULT_LEVELS``) go to every subscribed chat in both directions; a
chat's own level goes to that chat, upwards for ``above`` and downwards for ``below``. A chat's
level that fires ``once`` leaves the index when it fires (:meth:`LevelOwners.once_among`)
until the chat arms it again.
Chats sharing a level share its state (in the symbol's :class:`LevelBook`) and its alert,
and are looked up by ``(symbol, level, direction)`` with no loop over chats.

:func:`audience` says who hears about a level; :func:`decide` walks one move through a book
and says who each crossing is for.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from bot.rules.level_book import Crossing, LevelBook, Segment

DIRECTION_OF = {"above": "up", "below": "down"}
_BOOT = uuid.uuid4().hex[:8]  # versions are unique to this process, so a stored book is synced once
_VERSIONS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class LevelAudience:
    global_level: bool  # everyone hears it
    chats: frozenset[int]  # chats that asked for this level (besides everyone, if global)


Change = tuple[int, float, bool]  # (sequence number, level, wanted now): one level added or dropped


@dataclass
class LevelOwners:
    """The levels of every symbol and who owns them, changed level by level as chats add and
    delete theirs (:meth:`add`, :meth:`remove`: no reload). Each symbol has a version and a log
    of its changes, so a rule's book applies only what changed since the version it holds."""

    global_levels: dict[str, frozenset[float]] = field(default_factory=dict)
    owners: dict[str, dict[float, dict[str, frozenset[int]]]] = field(default_factory=dict)  # symbol → level → dir
    epoch: str = ""  # changes with every load: a log from another epoch does not apply
    once: set[tuple[int, str, float, str]] = field(default_factory=set)  # (chat, symbol, level, up|down)
    _wanted: dict[str, set[float]] = field(default_factory=dict)
    _log: dict[str, list[Change]] = field(default_factory=dict)

    def load(
        self, global_levels: Mapping[str, Iterable[float]], chat_levels: Iterable[tuple[int, str, float, str, str]]
    ) -> None:
        """(Re)build the index from the global levels and ``(chat_id, symbol, price, above|below,
        once|every)`` rows (the armed ones)."""
        owners: dict[str, dict[float, dict[str, set[int]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
        self.once = set()
        for chat_id, symbol, price, direction, mode in chat_levels:
            owners[symbol][float(price)][DIRECTION_OF[direction]].add(chat_id)
            if mode == "once":
                self.once.add((chat_id, symbol, float(price), DIRECTION_OF[direction]))
        self.owners = {
            s: {p: {d: frozenset(c) for d, c in dirs.items()} for p, dirs in levels.items()}
            for s, levels in owners.items()
        }
        self.global_levels = {s.upper(): frozenset(map(float, ps)) for s, ps in global_levels.items()}
        self._wanted = {s: set(self.global_levels.get(s, ())) | set(self.owners.get(s, {})) for s in self._symbols()}
        self._log = {}
        self.epoch = f"{_BOOT}:{next(_VERSIONS)}"

    def _symbols(self) -> set[str]:
        return set(self.global_levels) | set(self.owners)

    def wanted(self, symbol: str) -> AbstractSet[float]:
        """Every level of ``symbol``: the global ones and every chat's (read-only: the index's own set)."""
        return self._wanted.get(symbol, frozenset())

    def version_of(self, symbol: str) -> str:
        """``epoch:n``: n counts the changes of ``symbol``'s levels since the last load."""
        return f"{self.epoch}:{len(self._log.get(symbol, ()))}"

    def changes(self, symbol: str) -> Sequence[Change]:
        """Every change of ``symbol``'s levels since the last load, oldest first."""
        return self._log.get(symbol, ())

    def add(self, chat_id: int, symbol: str, price: float, direction: str, *, once: bool = False) -> None:
        """A chat added (or armed again) a level of its own; ``once``: it leaves when it fires."""
        self._own(chat_id, symbol, float(price), DIRECTION_OF[direction], keep=True)
        if once:
            self.once.add((chat_id, symbol, float(price), DIRECTION_OF[direction]))

    def remove(self, chat_id: int, symbol: str, price: float, direction: str) -> None:
        """A chat deleted one of its levels (or it fired once, or expired)."""
        self._own(chat_id, symbol, float(price), DIRECTION_OF[direction], keep=False)
        self.once.discard((chat_id, symbol, float(price), DIRECTION_OF[direction]))

    def once_among(self, symbol: str, level: float, way: str, chats: Iterable[int]) -> list[int]:
        """The chats among ``chats`` whose own level (``way``: up or down) fires once: told now,
        they are to leave the index (:meth:`remove`) once their level is stored as fired."""
        owners = self.owners.get(symbol, {}).get(float(level), {}).get(way, frozenset())
        once = [c for c in owners if (c, symbol, float(level), way) in self.once]  # few: not every chat told
        told = set(chats) if once else set()
        return sorted(c for c in once if c in told)

    def _own(self, chat_id: int, symbol: str, price: float, way: str, *, keep: bool) -> None:
        levels = self.owners.setdefault(symbol, {})
        ways = dict(levels.get(price, {}))
        chats = ways.get(way, frozenset()) | {chat_id} if keep else ways.get(way, frozenset()) - {chat_id}
        if chats:
            ways[way] = frozenset(chats)
        else:
            ways.pop(way, None)
        if ways:
            levels[price] = ways
        else:
            levels.pop(price, None)
        wanted = self._wanted.setdefault(symbol, set())
        now_wanted = price in levels or price in self.global_levels.get(symbol, ())
        if now_wanted != (price in wanted):
            (wanted.add if now_wanted else wanted.discard)(price)
            log = self._log.setdefault(symbol, [])
            log.append((len(log) + 1, price, now_wanted))


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
