"""Key level breaks: true crossings with hysteresis, found through a sorted index (pure).

A :class:`LevelBook` holds every level of one symbol (the global ones and every
chat's own) as sorted distinct prices, each with a *side*: ``above`` or ``below``.
A level's side flips only when the price clears its hysteresis band
(``level × (1 ± band)``), so a price chattering around a level flips it once per
real crossing. Each flip is a :class:`Crossing`.

Moves come as :class:`Segment` s: two successive quotes, or a bar walked
open → low → high → close (open → high → low → close for a falling bar), so a wick
through a level between two polls is seen. The index keeps one invariant after every
step: a level whose band lies wholly below the price is ``above``, wholly above it
``below``. A move from ``a`` down to ``b`` can therefore only flip levels in
``[b / (1 - h), a / (1 - h)]``: two binary searches find them, whatever the number of
levels or chats.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Side = Literal["above", "below"]


@dataclass(frozen=True, slots=True)
class Segment:
    """One observed move of a symbol, from ``open`` at ``start`` to ``close`` at ``end``."""

    symbol: str
    start: datetime
    end: datetime
    open: float
    high: float
    low: float
    close: float
    bar_start: datetime | None = None  # set when the segment is a whole bar

    @classmethod
    def between(cls, symbol: str, start: datetime, a: float, end: datetime, b: float) -> Segment:
        return cls(symbol, start, end, a, max(a, b), min(a, b), b)

    def path(self) -> tuple[float, ...]:
        """The prices in the order the market most likely visited them."""
        if self.close >= self.open:
            return (self.open, self.low, self.high, self.close)
        return (self.open, self.high, self.low, self.close)


@dataclass(frozen=True, slots=True)
class Crossing:
    """One side flip of a level, in the order the move made it."""

    symbol: str
    level: float
    direction: Literal["up", "down"]
    time: datetime
    price: float  # the close if the move ended past the level (held), else the extreme that went through
    extreme: float  # the furthest price of the move on the far side of the level
    bar_start: datetime | None
    held: bool  # the move ended on this side of the level (False: it came back within the same move)

    @property
    def through_pct(self) -> float:
        return abs(self.price - self.level) / self.level * 100


def side_of(price: float, level: float) -> Side:
    return "above" if price >= level else "below"


@dataclass
class LevelBook:
    symbol: str
    band: float = 0.0025  # hysteresis, as a fraction of the level
    prices: list[float] = field(default_factory=list)
    sides: dict[float, Side] = field(default_factory=dict)
    last_price: float | None = None
    partial: bool = field(default=False, compare=False)  # read back from storage: only its unusual sides

    def __post_init__(self) -> None:
        if not 0 <= self.band < 0.5:
            raise ValueError("hysteresis band must be a fraction in [0, 0.5)")

    # -- the levels ------------------------------------------------------------------
    def add(self, level: float) -> None:
        """Track ``level``; its side starts from the last price seen (no alert for being past it)."""
        if level in self.sides:
            return
        bisect.insort(self.prices, level)
        self.sides[level] = "above" if self.last_price is not None and self.last_price >= level else "below"

    def remove(self, level: float) -> None:
        if self.sides.pop(level, None) is not None:
            del self.prices[bisect.bisect_left(self.prices, level)]

    def sync(self, levels: Iterable[float]) -> None:
        """Track exactly ``levels`` (keeping the side of those already tracked)."""
        wanted = set(levels)
        for level in [p for p in self.prices if p not in wanted]:
            self.remove(level)
        for level in wanted:
            self.add(level)

    # -- moves -----------------------------------------------------------------------
    def observe(self, segment: Segment, *, from_last: bool = True) -> list[Crossing]:
        """Walk the segment's path from the current state; every side flip is a crossing, in path order.
        ``from_last=False``: the path starts at the segment's open, not at the last price (a wick
        of a bar, from where finer prices stopped short of it: the levels they crossed are not
        crossed again).

        The story ends where the move closed: a level the move flipped but whose band the
        close did not clear on the way back (a dip below 90,000 closing at 90,050) flips
        back at the close, so the last crossing of every level agrees with the close.
        """
        if self.last_price is None:  # nothing to cross from yet: settle every side
            self.last_price = segment.open
            for level in self.prices:
                self.sides[level] = side_of(segment.open, level)
        path = (  # from the last price seen: a gap to the open is a move too
            (self.last_price, *segment.path()) if from_last else segment.path()
        )
        flips: list[tuple[float, Literal["up", "down"], int]] = []  # level, direction, where on the path
        for k in range(1, len(path)):
            a, b = path[k - 1], path[k]
            if b != a:
                flips += [(level, way, k) for level, way in self._flip(a, b, "down" if b < a else "up")]
        for level in dict.fromkeys(level for level, _, _ in flips):  # each level the move flipped, once
            side = self.sides.get(level)
            if (side == "below" and segment.close > level) or (side == "above" and segment.close < level):
                self.sides[level] = "above" if side == "below" else "below"
                flips.append((level, "up" if side == "below" else "down", len(path) - 1))
        self.last_price = segment.close
        return [self._crossing(segment, path, flips, i) for i in range(len(flips))]

    def _flip(self, a: float, b: float, direction: Literal["up", "down"]) -> list[tuple[float, Literal["up", "down"]]]:
        h = self.band
        if direction == "down":
            lo, hi = bisect.bisect_left(self.prices, b / (1 - h)), bisect.bisect_right(self.prices, a / (1 - h))
            reached = [level for level in reversed(self.prices[lo:hi]) if b <= level * (1 - h)]
            was, now_side = "above", "below"
        else:
            lo, hi = bisect.bisect_left(self.prices, a / (1 + h)), bisect.bisect_right(self.prices, b / (1 + h))
            reached = [level for level in self.prices[lo:hi] if b >= level * (1 + h)]
            was, now_side = "below", "above"
        found = []
        for level in reached:
            if self.sides[level] == was:
                self.sides[level] = now_side  # type: ignore[assignment]
                found.append((level, direction))
        return found

    @staticmethod
    def _crossing(
        segment: Segment, path: tuple[float, ...], flips: list[tuple[float, Literal["up", "down"], int]], i: int
    ) -> Crossing:
        """The ``i``-th flip as told: the furthest it went before the level was crossed again
        (or the move ended), and whether it held to the close (it is the level's last flip)."""
        level, direction, k = flips[i]
        after = next((k2 for level2, _, k2 in flips[i + 1 :] if level2 == level), None)
        held = after is None
        stretch = path[k : len(path) if after is None else after] or (path[k],)
        extreme = min(stretch) if direction == "down" else max(stretch)
        return Crossing(
            segment.symbol, level, direction, segment.end, segment.close if held else extreme, extreme,
            segment.bar_start, held,
        )  # fmt: skip

    # -- persistence -----------------------------------------------------------------
    def unusual(self) -> dict[float, Side]:
        """The levels whose side is not what the last price alone says (a level the price is
        inside the hysteresis band of). Every other side follows from the last price, so this is
        all a restart needs; only levels near the price can be unusual, found by bisection."""
        if self.last_price is None:
            return dict(self.sides)
        last, h = self.last_price, 2 * self.band
        lo = bisect.bisect_left(self.prices, last / (1 + h))
        hi = bisect.bisect_right(self.prices, last / (1 - h) if h < 1 else math.inf)
        return {p: self.sides[p] for p in self.prices[lo:hi] if self.sides[p] != side_of(last, p)}

    def stored(self) -> dict[str, Any]:
        """The book as saved at every poll: its unusual sides only, not one entry per level."""
        return {
            "symbol": self.symbol,
            "band": self.band,
            "last_price": self.last_price,
            "unusual": {f"{p:.10g}": side for p, side in self.unusual().items()},
        }

    @classmethod
    def restored(cls, value: Any) -> Any:
        """A book saved by :meth:`stored` (``partial``: its other levels come back with the next
        sync, their sides from the last price); any other value as it is (older saves)."""
        if not (isinstance(value, Mapping) and "unusual" in value):
            return value
        book = cls(str(value["symbol"]), float(value["band"]), last_price=value["last_price"], partial=True)
        book.sides = {float(p): side for p, side in value["unusual"].items()}
        book.prices = sorted(book.sides)
        return book

    def state(self) -> LevelBookState:
        """What must survive a restart: the sides and the last price."""
        return LevelBookState(
            symbol=self.symbol,
            last_price=self.last_price,
            sides={f"{p:.10g}": s for p, s in self.sides.items()},
        )

    @classmethod
    def from_state(cls, state: LevelBookState, *, band: float) -> LevelBook:
        book = cls(state.symbol, band, last_price=state.last_price)
        book.sides = {float(price): side for price, side in state.sides.items()}
        book.prices = sorted(book.sides)
        return book


@dataclass(frozen=True, slots=True)
class LevelBookState:
    """A :class:`LevelBook` as stored: levels as text (``"90000"``), so JSON keeps them exact."""

    symbol: str
    last_price: float | None = None
    sides: dict[str, Side] = field(default_factory=dict)


WALKED_KEPT = 4_000  # moves remembered: more than a day of 30-second quotes


@dataclass
class Walked:
    """The low and high of every move walked since ``since`` (when this process started walking),
    by the time each ended; the last ``KEEP`` of them."""

    since: datetime | None = None
    moves: list[tuple[datetime, float, float]] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        if self.since is None:
            self.since = segment.start
        self.moves.append((segment.end, segment.low, segment.high))
        if len(self.moves) > 2 * WALKED_KEPT:
            del self.moves[:-WALKED_KEPT]

    def range(self, start: datetime, end: datetime) -> tuple[float, float] | None:
        """The lowest and highest price walked in (``start``, ``end``]; None if this process did
        not walk all of that span (it started later, or the record was trimmed)."""
        if self.since is None or start < self.since or not self.moves or self.moves[0][0] > start:
            return None
        inside = [(low, high) for at, low, high in self.moves if start < at <= end]
        if not inside:
            return None
        return min(low for low, _ in inside), max(high for _, high in inside)
