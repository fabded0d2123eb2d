"""What a subscriber is told about one level: each crossing, or a chop folded into one message (pure).

A level's :class:`Story` remembers the side the latest new message about it said
(``told``) and its crossings within the chop window. A crossing is told as a break; the
second one within the window is told too, in a message that also opens a :class:`Chop`
("chopping around 90,000: crossings so far, range, since when"). Further crossings only
edit that message in place. While it chops, a new message goes out only when a close
or quote is ``exit_pct`` clear of the level on the side the chat was not last told
("broke below 90,000 after chopping"). The chop ends (a last edit) when the level has
gone ``quiet`` without a crossing; after that a crossing is a break again.

So a break never tells the side the chat was last told, and once the price is clear of
a level the latest new message about it names the side the price is on. A crossing
seen only in data too old to alert on is told late, when a fresh price is clear of the
level, so no crossing is silently lost; the message says when it happened (the span of
the data it was seen in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.rules.level_book import Crossing, Segment, Side, side_of

TOLD_ONE_BY_ONE = 1  # crossings within the window told on their own; the next one starts a chop
Direction = Literal["up", "down"]


def direction_to(side: Side) -> Direction:
    return "up" if side == "above" else "down"


@dataclass
class Chop:
    """A level crossed back and forth: everything one edited-in-place message says."""

    since: datetime  # the first crossing counted
    last: datetime  # the latest crossing
    crossings: int
    low: float
    high: float
    price: float  # the latest close

    def widen(self, segment: Segment) -> None:
        self.low, self.high = min(self.low, segment.low), max(self.high, segment.high)


@dataclass
class Story:
    told: Side  # the side the latest new message about the level said (or the side the level started on)
    recent: list[tuple[datetime, float]] = field(default_factory=list)  # crossings in the window: time, extreme
    chop: Chop | None = None
    ended: Chop | None = None  # the chop that ended since the chat was last told a side
    unheard: bool = False  # the level was crossed in data too old to alert on
    unheard_between: tuple[datetime, datetime] | None = None  # the span of the data it was last crossed in

    def idle(self, side: Side) -> bool:
        """Nothing to remember: a story started afresh would be the same."""
        return self.chop is None and not self.recent and self.told == side and self.ended is None

    def clear_of(self, level: float, segment: Segment, exit_pct: float) -> Side | None:
        """The side of the close if it is ``exit_pct`` or more away from ``level``."""
        return side_of(segment.close, level) if abs(segment.close - level) / level * 100 >= exit_pct else None


@dataclass(frozen=True, slots=True)
class Break:
    """Tell a crossing; ``after`` is the chop it ends, ``late``: the crossing was in data too old to alert
    on, seen in the span ``between`` (when known)."""

    crossing: Crossing
    after: Chop | None = None
    late: bool = False
    between: tuple[datetime, datetime] | None = None


@dataclass(frozen=True, slots=True)
class ChopNews:
    """Start or update (``ended``: for the last time) the chop message of a level."""

    level: float
    chop: Chop
    side: Side
    at: datetime
    ended: bool = False


Told = Break | ChopNews


def settled(level: float, segment: Segment, side: Side) -> Crossing:
    """The crossing a message states when the price is found clear of ``level`` on ``side``."""
    direction = direction_to(side)
    extreme = segment.low if direction == "down" else segment.high
    return Crossing(segment.symbol, level, direction, segment.end, segment.close, extreme, segment.bar_start, True)


def step(
    story: Story,
    level: float,
    crossings: Sequence[Crossing],
    segment: Segment,
    *,
    side: Side,
    window: timedelta,
    quiet: timedelta,
    exit_pct: float,
) -> list[Told]:
    """What to tell after ``segment`` moved the price, given the level's ``crossings`` in it
    (in path order) and the ``side`` the book holds now. Mutates ``story``."""
    now, told = segment.end, list[Told]()
    story.recent = [(t, x) for t, x in story.recent if now - t < window]
    chop = story.chop
    if chop is not None and now - chop.last >= max(quiet, window):  # no crossing for a while: it is over
        told.append(ChopNews(level, replace(chop), side, now, ended=True))
        story.chop, story.ended, chop = None, chop, None
    story.recent += [(c.time, c.extreme) for c in crossings]
    if chop is None:
        for c in crossings:
            if side_of_direction(c.direction) != story.told:
                told.append(Break(c))
                story.told, story.ended = side_of_direction(c.direction), None
                story.unheard, story.unheard_between = False, None
        # The second crossing within the window starts a chop; not two in one long bar (a daily
        # bar's dip and recovery may be hours apart: its own message tells the whole story).
        short = segment.end - segment.start < window or len(story.recent) > len(crossings)
        if crossings and short and len(story.recent) > TOLD_ONE_BY_ONE:
            extremes = [x for _, x in story.recent] + [segment.low, segment.high]
            story.chop = Chop(story.recent[0][0], now, len(story.recent), min(extremes), max(extremes), segment.close)
            return [*told, ChopNews(level, replace(story.chop), side, now)]  # one message with the break
    else:
        if crossings:  # the range is the chop's swings around the level, not where the price went after
            chop.crossings += len(crossings)
            chop.last = now
            chop.widen(segment)
        chop.price = segment.close
    clear = story.clear_of(level, segment, exit_pct)
    if clear is not None and clear != story.told:  # clear of the level on a side the chat was not told
        after, late = chop or story.ended, story.unheard and chop is None
        between = story.unheard_between if late else None
        story.told, story.ended, story.unheard, story.unheard_between = clear, None, False, None
        news = [ChopNews(level, replace(chop), clear, now)] if chop is not None else []
        told_break = Break(settled(level, segment, clear), replace(after) if after else None, late, between)
        return [*told, *news, told_break]
    if chop is not None and crossings:
        told.append(ChopNews(level, replace(chop), side, now))
    return told


def side_of_direction(direction: Direction) -> Side:
    return "above" if direction == "up" else "below"


def side_before(crossing: Crossing) -> Side:
    """The side a level had before ``crossing`` flipped it."""
    return "above" if crossing.direction == "down" else "below"
