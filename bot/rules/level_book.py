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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

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
    symbol: str
    level: float
    direction: Literal["up", "down"]
    time: datetime
    price: float  # the close if it ended past the level, else the extreme that went through
    extreme: float
    bar_start: datetime | None
    cooled_down: bool  # False: the same level alerted too recently (a round trip inside the cooldown)

    @property
    def through_pct(self) -> float:
        return abs(self.price - self.level) / self.level * 100


@dataclass
class LevelBook:
    symbol: str
    band: float = 0.0025  # hysteresis, as a fraction of the level
    cooldown: timedelta = timedelta(minutes=30)
    prices: list[float] = field(default_factory=list)
    sides: dict[float, Side] = field(default_factory=dict)
    last_alert: dict[str, datetime] = field(default_factory=dict)  # level → time of its last alert
    last_price: float | None = None

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
    def observe(self, segment: Segment) -> list[Crossing]:
        """Walk the segment's path from the current state; every side flip is a crossing."""
        if self.last_price is None:  # nothing to cross from yet: settle every side
            self.last_price = segment.open
            for level in self.prices:
                self.sides[level] = "above" if segment.open >= level else "below"
        crossings: list[Crossing] = []
        a = self.last_price
        for b in segment.path():  # from the last price seen: a gap to the open is a move too
            if b < a:
                crossings += self._flip(segment, a, b, "down")
            elif b > a:
                crossings += self._flip(segment, a, b, "up")
            a = b
        self.last_price = segment.close
        return crossings

    def _flip(self, segment: Segment, a: float, b: float, direction: Literal["up", "down"]) -> list[Crossing]:
        h = self.band
        if direction == "down":
            lo, hi = bisect.bisect_left(self.prices, b / (1 - h)), bisect.bisect_right(self.prices, a / (1 - h))
            candidates, was, now_side = self.prices[lo:hi], "above", "below"
            reached = [level for level in reversed(candidates) if b <= level * (1 - h)]
        else:
            lo, hi = bisect.bisect_left(self.prices, a / (1 + h)), bisect.bisect_right(self.prices, b / (1 + h))
            candidates, was, now_side = self.prices[lo:hi], "below", "above"
            reached = [level for level in candidates if b >= level * (1 + h)]
        found = []
        for level in reached:
            if self.sides[level] != was:
                continue
            self.sides[level] = now_side  # type: ignore[assignment]
            past = segment.close < level if direction == "down" else segment.close > level
            key = f"{level:.10g}"  # the cooldown is per level, whichever way the next crossing goes
            last = self.last_alert.get(key)
            # Crossings inside one move (a bar's round trip) are all facts of that move: the
            # cooldown only mutes a crossing that comes back in a *later* move.
            cooled = last is None or last == segment.end or segment.end - last >= self.cooldown
            if cooled:
                self.last_alert[key] = segment.end
            found.append(
                Crossing(
                    self.symbol,
                    level,
                    direction,
                    segment.end,
                    segment.close if past else b,
                    b,
                    segment.bar_start,
                    cooled,
                )
            )
        return found

    # -- persistence -----------------------------------------------------------------
    def state(self) -> LevelBookState:
        """What must survive a restart: the sides, the last price and the cooldown clocks."""
        return LevelBookState(
            symbol=self.symbol,
            last_price=self.last_price,
            sides={f"{p:.10g}": s for p, s in self.sides.items()},
            last_alert=dict(self.last_alert),
        )

    @classmethod
    def from_state(cls, state: LevelBookState, *, band: float, cooldown: timedelta) -> LevelBook:
        book = cls(state.symbol, band, cooldown, last_price=state.last_price)
        book.sides = {float(price): side for price, side in state.sides.items()}
        book.prices = sorted(book.sides)
        book.last_alert = dict(state.last_alert)
        return book


@dataclass(frozen=True, slots=True)
class LevelBookState:
    """A :class:`LevelBook` as stored: levels as text (``"90000"``), so JSON keeps them exact."""

    symbol: str
    last_price: float | None = None
    sides: dict[str, Side] = field(default_factory=dict)
    last_alert: dict[str, datetime] = field(default_factory=dict)  # level → time of its last alert
