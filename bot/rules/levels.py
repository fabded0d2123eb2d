"""Key level breaks: BTC (or any tracked symbol) crossing a global level or a chat's own.

Each new bar or quote of a symbol is a :class:`~bot.rules.level_book.Segment` walked
through the symbol's :class:`~bot.rules.level_book.LevelBook` (hysteresis, cooldown);
every crossing goes to everyone for a global level, or to the chats that own the level.
A bar that ended long ago (or stale data) only moves the book on: it never alerts.
Finer data already walked (quotes inside an hour) is not walked again by the bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, Bar, Direction, Quote, UtcTime, minute_period, num
from bot.formatting import fmt_date, fmt_pct, fmt_price, fmt_symbol
from bot.i18n import t
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.rules.level_book import LevelBook, Segment
from bot.rules.level_index import decide

NAME = "level_break"
MUTE_GROUP = "level_break"
SETTINGS: tuple[Setting[Any], ...] = ()
BAR_GRACE = timedelta(minutes=15)  # a bar that ended longer ago than this only moves the book on


@dataclass(frozen=True, slots=True)
class LevelBreak(AlertBase):
    """A true crossing of ``level``; ``price`` is where it stood when seen past the level."""

    kind: ClassVar[AlertKind] = "level_break"
    symbol: str
    time: UtcTime
    level: float
    direction: Direction
    price: float
    extreme: float  # the furthest price reached through the level in the observed move
    through_pct: float  # how far ``price`` is past the level, in % of the level (positive)
    bar_start: UtcTime | None = None  # the bar the crossing was seen in, if it came from a bar

    @property
    def param(self) -> str:
        return num(self.level)

    @property
    def period(self) -> str:
        return minute_period(self.time)


KINDS = (LevelBreak,)


@dataclass
class State:
    """A symbol's levels and how far its prices have been walked."""

    book: LevelBook | None = None
    cover: datetime | None = None  # prices up to here were walked (a bar inside it is skipped)
    synced: str = ""  # the version of the level index the book holds


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    bars: tuple[tuple[Bar, datetime], ...]  # with when each closed
    quotes: tuple[Quote, ...]
    fresh: bool
    levels: frozenset[float]  # every level of the symbol
    version: str
    owners: Mapping[float, Mapping[str, frozenset[int]]] = field(default_factory=dict)
    global_levels: frozenset[float] = frozenset()
    band: float = 0.0025
    cooldown: timedelta = timedelta(minutes=30)


def params(values: Mapping[str, Any]) -> str:
    return ""  # the same for every chat: own levels come from the index, not from a setting


def scopes(tick: Tick) -> Iterable[str]:
    return sorted({b.symbol for b in tick.bars} | {q.symbol for q in tick.quotes})


def inputs(view: MarketView, tick: Tick, scope: str, params: str) -> Inputs:
    index = view.levels()
    return Inputs(
        symbol=scope,
        bars=tuple(
            (b, tick.bar_close(b)) for b in sorted(tick.bars, key=lambda b: (b.ts, b.interval)) if b.symbol == scope
        ),
        quotes=tuple(sorted((q for q in tick.quotes if q.symbol == scope), key=lambda q: q.ts)),
        fresh=tick.fresh(scope),
        levels=frozenset(index.wanted(scope)),
        version=index.version,
        owners=index.owners.get(scope, {}),
        global_levels=index.global_levels.get(scope, frozenset()),
        band=view.settings.level_hysteresis_pct / 100,
        cooldown=timedelta(minutes=view.settings.level_cooldown_minutes),
    )


def _segments(inputs: Inputs, state: State, book: LevelBook, now: datetime) -> list[tuple[Segment, bool]]:
    """Moves to walk, oldest first, each with whether it is fresh enough to alert on."""
    moves: list[tuple[Segment, bool]] = []
    for bar, end in inputs.bars:
        if state.cover is not None and bar.ts < state.cover:  # finer data already walked this time
            continue
        segment = Segment(bar.symbol, bar.ts, end, bar.open, bar.high, bar.low, bar.close, bar.ts)
        moves.append((segment, now - end <= BAR_GRACE and inputs.fresh))
        state.cover = end
    for quote in inputs.quotes:
        if not inputs.fresh or (state.cover is not None and quote.ts <= state.cover):
            continue
        last = book.last_price if book.last_price is not None else quote.price
        moves.append((Segment.between(quote.symbol, state.cover or quote.ts, last, quote.ts, quote.price), True))
        state.cover = quote.ts
    return moves


def evaluate(inputs: Inputs, state: State, params: str, now: datetime) -> tuple[State, list[Out]]:
    book = state.book or LevelBook(inputs.symbol, inputs.band, inputs.cooldown)
    book.band, book.cooldown = inputs.band, inputs.cooldown
    if state.synced != inputs.version:
        book.sync(inputs.levels)
        state.synced = inputs.version
    state.book = book
    out: list[Out] = []
    for segment, alerting in _segments(inputs, state, book, now):
        decisions = decide(book, segment, inputs.owners, inputs.global_levels)
        if not alerting:
            continue
        for decision in decisions:
            c = decision.crossing
            alert = LevelBreak(c.symbol, c.time, c.level, c.direction, c.price, c.extreme, c.through_pct, c.bar_start)
            out.append(Out(alert, None if decision.global_level else decision.chats))
    return state, out


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, LevelBreak)
    way = "down" if alert.direction == "down" else "up"
    lines = [
        t(lang, f"alert.level.{way}", symbol=fmt_symbol(alert.symbol), level=fmt_price(alert.level, lang)),
        t(
            lang,
            f"alert.level.price_{way}",
            price=fmt_price(alert.price, lang),
            through=fmt_pct(alert.through_pct, lang, signed=False),
        ),
    ]
    if fmt_price(alert.extreme) != fmt_price(alert.price):
        key = "alert.level.low" if way == "down" else "alert.level.high"
        lines.append(t(lang, key, extreme=fmt_price(alert.extreme, lang)))
    if alert.bar_start is not None and alert.time - alert.bar_start >= timedelta(hours=6):
        # A daily bar tells the day's range, not when in the day the level went.
        lines.append(t(lang, "alert.level.daily_bar", day=fmt_date(alert.bar_start.date(), lang, year=True)))
    return lines
