"""Key level breaks: BTC (or any tracked symbol) crossing a global level or a chat's own.

Each new bar or quote of a symbol is a :class:`~bot.rules.level_book.Segment` walked
through the symbol's :class:`~bot.rules.level_book.LevelBook` (hysteresis, path order,
the story ending where the move closed); each level's
:class:`~bot.rules.level_story.Story` decides what a subscriber reads: a break, or one
"chopping around" message edited in place while the price goes back and forth.
A global level goes to everyone, a chat's own to the chats that own it. A bar that ended
long ago, stale data, or the first price after a gap in the data (an outage) only moves the
book on: what it crossed is told late, once a fresh price is clear of the level, with the
span in which it happened. Finer data already walked is not walked again by the bar: of a
bar partly walked already, only the move from the last price to its close is new, and its
wick, what the finer prices walked in its span missed of its low and high (a dip to 89,400
between two 30-second quotes at 90,300): walked from where they stopped short of it, so a level
they crossed is not crossed twice. Live mode (quotes, then the bar) thus tells what replay (the
bar alone) tells. What was walked is kept in memory: after a restart a bar whose span the last
process walked is not searched for a wick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, PlainSerializer

from bot.domain import AlertBase, AlertKind, Bar, Direction, Quote, UtcTime, minute_period, num
from bot.formatting import fmt_clock, fmt_clock_span, fmt_date, fmt_pct, fmt_price, fmt_symbol, fmt_venue
from bot.i18n import t, tn
from bot.markettime import CalendarRangeError
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.rules.level_book import Crossing, LevelBook, Segment, Side, Walked
from bot.rules.level_index import audience
from bot.rules.level_story import Break, ChopNews, Story, Told, side_before, step

NAME = "level_break"
MUTE_GROUP = "level_break"
SETTINGS: tuple[Setting[Any], ...] = ()
BAR_GRACE = timedelta(minutes=15)  # a bar that ended longer ago than this only moves the book on
QUOTE_GAP = BAR_GRACE  # a price first seen after a gap this long (while trading) only moves the book on


@dataclass(frozen=True, slots=True)
class LevelBreak(AlertBase):
    """A crossing of ``level`` as a subscriber reads it.

    ``price`` is the close (or the latest quote) when the move ended past the level
    (``held``), else the extreme that went through; ``extreme`` is the furthest the move
    went on the far side. ``seq`` orders the crossings of one move as the price made them.
    """

    kind: ClassVar[AlertKind] = "level_break"
    symbol: str
    time: UtcTime
    level: float
    direction: Direction
    price: float
    extreme: float
    through_pct: float  # how far ``price`` is past the level, in % of the level (positive)
    bar_start: UtcTime | None = None  # the bar the crossing was seen in, if it came from a bar
    held: bool = True  # False: the move came back through the level before it ended (a dip, a poke)
    back: bool = False  # it undoes a crossing of the same level told in the same message
    seq: int = 0
    chop_crossings: int = 0  # >0: it ends a chop of that many crossings
    chop_since: UtcTime | None = None
    late: bool = False  # crossed in data too old to alert on; told once a fresh price is clear of it
    crossed_between: tuple[UtcTime, UtcTime] | None = None  # late: the span of the data it crossed in
    source: str | None = None  # the venue of the prices it was seen in (binance, yfinance, replay)
    market: str | None = None  # and its instrument there (BTC/USDT), where the venue names one

    @property
    def param(self) -> str:
        return num(self.level)

    @property
    def period(self) -> str:
        return minute_period(self.time)

    @property
    def order(self) -> int:
        return self.seq


@dataclass(frozen=True, slots=True)
class LevelChop(AlertBase):
    """A level crossed back and forth: one message, edited in place as crossings come."""

    kind: ClassVar[AlertKind] = "level_chop"
    symbol: str
    time: UtcTime
    level: float
    since: UtcTime
    last: UtcTime  # the latest crossing
    crossings: int
    low: float
    high: float
    price: float
    side: Side
    ended: bool = False

    @property
    def param(self) -> str:
        return num(self.level)

    @property
    def direction_key(self) -> str:
        return "end" if self.ended else "-"

    @property
    def period(self) -> str:
        return self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    @property
    def thread(self) -> str:
        return f"chop:{self.symbol}:{num(self.level)}:{self.since.astimezone(UTC):%Y%m%dT%H%M}"


KINDS = (LevelBreak, LevelChop)


@dataclass
class State:
    """A symbol's levels, how far its prices have been walked, and what was told about each level."""

    # saved at every poll: the book's unusual sides only (LevelBook.stored), not one entry per level
    book: Annotated[
        LevelBook | None,
        BeforeValidator(LevelBook.restored),
        PlainSerializer(lambda book: None if book is None else book.stored()),
    ] = None
    cover: datetime | None = None  # prices up to here were walked (a bar inside it is skipped)
    synced: str = ""  # the version of the level index the book holds
    stories: dict[str, Story] = field(default_factory=dict)  # level (as text) → its story, while it has one
    # what this process walked lately (in memory only, not saved): to see in a bar that arrives
    # after finer prices walked its span the wick those prices missed
    walked: Annotated[Walked, PlainSerializer(lambda _: None), BeforeValidator(lambda _: Walked())] = field(
        default_factory=lambda: Walked()
    )


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    bars: tuple[tuple[Bar, datetime], ...]  # with when each closed
    quotes: tuple[Quote, ...]
    fresh: bool
    levels: AbstractSet[float]  # every level of the symbol (read only)
    version: str  # of the symbol's levels: "epoch:n", n changes since the index was loaded
    changes: Sequence[tuple[int, float, bool]] = ()  # those n changes: (number, level, wanted now)
    owners: Mapping[float, Mapping[str, frozenset[int]]] = field(default_factory=dict)
    global_levels: frozenset[float] = frozenset()
    band: float = 0.0025
    chop_window: timedelta = timedelta(hours=4)
    chop_quiet: timedelta = timedelta(hours=12)
    exit_pct: float = 1.0
    session_open: datetime | None = None  # set for a symbol with market hours: the open of the latest session
    venue: tuple[str, str | None] | None = None  # (source, market) of the newest price of this tick


def params(values: Mapping[str, Any]) -> str:
    return ""  # the same for every chat: own levels come from the index, not from a setting


def scopes(tick: Tick) -> Iterable[str]:
    return sorted({b.symbol for b in tick.bars} | {q.symbol for q in tick.quotes})


def inputs(view: MarketView, tick: Tick, scope: str, params: str) -> Inputs:
    index = view.levels()
    return Inputs(
        symbol=scope,
        bars=tuple(  # in the order they ended, the finer bar first: it is walked, the coarser one skipped
            sorted(
                ((b, tick.bar_close(b)) for b in tick.bars if b.symbol == scope),
                key=lambda p: (p[1], -p[0].ts.timestamp()),
            )
        ),
        quotes=tuple(sorted((q for q in tick.quotes if q.symbol == scope), key=lambda q: q.ts)),
        fresh=tick.fresh(scope),
        levels=index.wanted(scope),
        session_open=None if scope in tick.crypto else _session_open(tick),
        venue=tick.venue(scope),
        version=index.version_of(scope),
        changes=index.changes(scope),
        owners=index.owners.get(scope, {}),
        global_levels=index.global_levels.get(scope, frozenset()),
        band=view.settings.level_hysteresis_pct / 100,
        chop_window=timedelta(hours=view.settings.level_chop_hours),
        chop_quiet=timedelta(hours=view.settings.level_chop_quiet_hours),
        exit_pct=view.settings.level_chop_exit_pct,
    )


def _session_open(tick: Tick) -> datetime | None:
    try:
        return tick.hours.latest_started_session(tick.now).open
    except CalendarRangeError:
        return None


Move = tuple[Segment, bool, bool]  # the move, whether fresh enough to alert on, whether a wick


def _segments(inputs: Inputs, state: State, book: LevelBook, now: datetime) -> list[Move]:
    """Moves to walk, oldest first, each with whether it is fresh enough to alert on; each move
    starts where the one before it ended, but a wick (what finer prices missed of a bar whose
    span they walked) starts where they stopped short of it."""
    moves: list[Move] = []
    last = book.last_price
    for bar, end in inputs.bars:
        alerting = now - end <= BAR_GRACE and inputs.fresh
        if state.cover is not None and bar.ts < state.cover:  # finer prices walked (part of) its span
            seen = state.walked.range(bar.ts, min(end, state.cover))
            if seen is not None and last is not None:
                tail = (last, bar.close) if end > state.cover else (last,)  # the part still to walk
                moves += _wicks(bar, end, (min(seen[0], *tail), max(seen[1], *tail)), last, alerting=alerting)
            if end <= state.cover:  # all of it: nothing else is new
                continue
            segment = Segment.between(bar.symbol, state.cover, bar.open if last is None else last, end, bar.close)
        else:
            segment = Segment(bar.symbol, bar.ts, end, bar.open, bar.high, bar.low, bar.close, bar.ts)
        moves.append((segment, alerting, False))
        state.cover, last = end, bar.close
    for quote in inputs.quotes:
        if not inputs.fresh or (state.cover is not None and quote.ts <= state.cover):
            continue
        start = state.cover or quote.ts
        # The market being closed is not a gap; prices missing while it trades are.
        gap = quote.ts - max(start, inputs.session_open or start)
        segment = Segment.between(quote.symbol, start, quote.price if last is None else last, quote.ts, quote.price)
        moves.append((segment, gap <= QUOTE_GAP, False))
        state.cover, last = quote.ts, quote.price
    return moves


def _wicks(bar: Bar, end: datetime, seen: tuple[float, float], last: float, *, alerting: bool) -> list[Move]:
    """What of ``bar`` the prices walked in its span did not reach: from their low down to the
    bar's low and back to the last price, from their high up to the bar's high and back."""
    low, high = seen
    wicks: list[Move] = []
    if bar.low < low:
        wicks.append((Segment(bar.symbol, bar.ts, end, low, max(low, last), bar.low, last, bar.ts), alerting, True))
    if bar.high > high:
        wicks.append((Segment(bar.symbol, bar.ts, end, high, bar.high, min(high, last), last, bar.ts), alerting, True))
    return wicks


def _catch_up(book: LevelBook, synced: str, inputs: Inputs) -> None:
    """Bring the book to the index's levels: the changes since the version it holds if it holds
    one of this epoch (a level added or deleted: one insert), else every level (a restart)."""
    epoch, _, held = synced.rpartition(":")
    current, _, _ = inputs.version.rpartition(":")
    if epoch != current or not held.isdigit():
        book.sync(inputs.levels)
        return
    for _, level, wanted in inputs.changes[int(held) :]:
        if wanted:
            book.add(level)
        else:
            book.remove(level)


def evaluate(inputs: Inputs, state: State, params: str, now: datetime) -> tuple[State, list[Out]]:
    book = state.book or LevelBook(inputs.symbol, inputs.band)
    book.band = inputs.band
    if state.synced != inputs.version or book.partial:
        _catch_up(book, "" if book.partial else state.synced, inputs)  # read back: every level again
        state.synced, book.partial = inputs.version, False
        state.stories = {k: v for k, v in state.stories.items() if float(k) in book.sides}
    state.book = book
    out: list[Out] = []
    for segment, alerting, wick in _segments(inputs, state, book, now):
        state.walked.add(segment)
        if not book.prices:
            continue
        crossings = book.observe(segment, from_last=not wick)
        for item in _tell(inputs, state, book, segment, crossings, alerting):
            told = _out(inputs, item, crossings)
            out += [told] if told is not None else []
    return state, out


def _tell(
    inputs: Inputs, state: State, book: LevelBook, segment: Segment, crossings: list[Crossing], alerting: bool
) -> list[Told]:
    """Each level's story after the move: what to tell (nothing if the move is too old to alert on)."""
    by_level: dict[float, list[Crossing]] = {}
    for c in crossings:
        by_level.setdefault(c.level, []).append(c)
    for level, mine in by_level.items():  # a story starts on the side the level had before the move
        story = state.stories.setdefault(num(level), Story(told=side_before(mine[0])))
        story.unheard = story.unheard or not alerting
        if not alerting:
            story.unheard_between = (segment.start, segment.end)
    if not alerting:
        return []
    told: list[Told] = []
    for key, story in list(state.stories.items()):
        level = float(key)
        told += step(
            story,
            level,
            by_level.get(level, ()),
            segment,
            side=book.sides[level],
            window=inputs.chop_window,
            quiet=inputs.chop_quiet,
            exit_pct=inputs.exit_pct,
        )
        if story.idle(book.sides[level]):
            del state.stories[key]
    return told


def _out(inputs: Inputs, item: Told, crossings: list[Crossing]) -> Out | None:
    if isinstance(item, ChopNews):
        heard = audience(item.level, None, inputs.owners, inputs.global_levels)
        alert: AlertBase = _chop_alert(inputs.symbol, item)
    else:
        c = item.crossing
        heard = audience(c.level, c.direction, inputs.owners, inputs.global_levels)
        alert = _break_alert(item, crossings, inputs.venue)
    if heard is None:
        return None
    return Out(alert, None if heard.global_level else heard.chats)


def _chop_alert(symbol: str, news: ChopNews) -> LevelChop:
    chop = news.chop
    return LevelChop(
        symbol, news.at, news.level, chop.since, chop.last, chop.crossings, chop.low, chop.high, chop.price,
        news.side, news.ended,
    )  # fmt: skip


def _break_alert(item: Break, crossings: list[Crossing], venue: tuple[str, str | None] | None) -> LevelBreak:
    c, chop = item.crossing, item.after
    seq = next((i for i, other in enumerate(crossings) if other is c), len(crossings))
    back = any(o.level == c.level and o.direction != c.direction for o in crossings[:seq])
    return LevelBreak(
        c.symbol, c.time, c.level, c.direction, c.price, c.extreme, c.through_pct, c.bar_start, c.held, back, seq,
        chop.crossings if chop else 0, chop.since if chop else None, item.late, item.between,
        *(venue or (None, None)),
    )  # fmt: skip


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    if isinstance(alert, LevelChop):
        return _render_chop(alert, lang, tz)
    assert isinstance(alert, LevelBreak)
    way = alert.direction
    head = "late" if alert.late else "back" if alert.back else "broke" if alert.held else "dip"
    level = fmt_price(alert.level, lang)
    lines = [t(lang, f"alert.level.{head}_{way}", symbol=fmt_symbol(alert.symbol), level=level)]
    through = fmt_pct(alert.through_pct, lang, signed=False, small=True)
    if alert.held:
        label = "close" if alert.bar_start is not None else "price"
        lines.append(t(lang, f"alert.level.{label}_{way}", price=fmt_price(alert.price, lang), through=through))
        if fmt_price(alert.extreme) != fmt_price(alert.price):
            key = "alert.level.low" if way == "down" else "alert.level.high"
            lines.append(t(lang, key, extreme=fmt_price(alert.extreme, lang)))
    else:
        lines.append(t(lang, f"alert.level.reached_{way}", price=fmt_price(alert.price, lang), through=through))
    if alert.chop_crossings and alert.chop_since is not None:
        since = fmt_clock(alert.chop_since, tz, lang)
        lines.append(tn(lang, "alert.level.after_chop", alert.chop_crossings, since=since))
    if alert.source:
        lines.append(t(lang, "alert.level.venue", venue=fmt_venue(alert.source, alert.market, lang)))
    if alert.late:
        lines.append(_late_line(alert, lang, tz))
    if alert.bar_start is not None and alert.time - alert.bar_start >= timedelta(hours=6):
        # A daily bar tells the day's range, not when in the day the level went.
        lines.append(t(lang, "alert.level.daily_bar", day=fmt_date(alert.bar_start.date(), lang, year=True)))
    return lines


def _late_line(alert: LevelBreak, lang: str, tz: tzinfo) -> str:
    """When a crossing told late happened: the span of the data it was seen in."""
    if alert.crossed_between is None:  # decided before the span was kept
        return t(lang, "alert.level.late")
    start, end = fmt_clock_span(*alert.crossed_between, tz, lang)
    return t(lang, "alert.level.seen_late", start=start, end=end)


def _render_chop(alert: LevelChop, lang: str, tz: tzinfo) -> list[str]:
    symbol, level = fmt_symbol(alert.symbol), fmt_price(alert.level, lang)
    lines = [
        t(lang, "alert.chop.ended" if alert.ended else "alert.chop.head", symbol=symbol, level=level),
        tn(
            lang,
            "alert.chop.count",
            alert.crossings,
            since=fmt_clock(alert.since, tz, lang),
            low=fmt_price(alert.low, lang),
            high=fmt_price(alert.high, lang),
        ),
        t(lang, f"alert.chop.now_{alert.side}", price=fmt_price(alert.price, lang)),
    ]
    if not alert.ended:
        lines.append(t(lang, "alert.chop.updated"))
    return lines
