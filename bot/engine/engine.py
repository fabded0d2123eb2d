"""The engine: runs the pure rules on what the store holds, decides each alert once, queues it.

``Engine.process(now, quotes, bars)`` is called after new data was stored (by the
collector in live mode, by the replay driver over recorded data). In one SQLite
transaction it records every new alert by its key, the (alert, chat) deliveries of
the outbox, and the rules' state, so a restart neither repeats nor forgets an alert.
Per-chat thresholds are applied by evaluating each rule once per distinct setting
among the subscribed chats; muted chats are left out (and nothing is queued for later).
Stale or missing data never reaches a rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import Alert, AlertKey, Bar, EarningsShock, LevelBreak, Quote, num
from bot.engine import daily
from bot.engine.daily import Candidate
from bot.engine.levels import LevelBook, LevelBookState, Segment
from bot.engine.moves import MoveState, evaluate_large_move
from bot.engine.registry import LevelRegistry
from bot.markettime import MarketHours, bar_close_time
from bot.store import market, outbox
from bot.store.outbox import RuleKey
from bot.store.prefs import ChatPrefs, chat_levels, load_audience
from bot.store.watchlist import watched_equities

log = logging.getLogger(__name__)

BAR_GRACE = timedelta(minutes=15)  # a bar that ended longer ago than this only updates state
MOVE_LOOKBACK = timedelta(hours=30)


@dataclass(frozen=True, slots=True)
class Cover:
    """How far in time a symbol's prices have been walked (finer data already seen)."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Decided:
    """An alert the engine decided just now, with the chats it was queued for."""

    alert_id: int
    alert: Alert
    chat_ids: tuple[int, ...]


def _without_echoes(db: Database, candidates: list[tuple[Alert, list[int]]]) -> list[tuple[Alert, list[int]]]:
    """A large move of a name that had an earnings shock that session is the same news: keep the shock."""
    shocked = {(a.symbol, a.session) for a, _ in candidates if isinstance(a, EarningsShock)}
    kept = []
    for alert, chats in candidates:
        if alert.kind == "large_move":
            day = alert.time.date()
            if (alert.symbol, day) in shocked or outbox.decided_in_period(db, "earnings_shock", alert.symbol, day):
                continue
        kept.append((alert, chats))
    return kept


class Engine:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        hours: MarketHours,
        *,
        fresh: Callable[[str], bool] | None = None,
        global_levels: dict[str, tuple[float, ...]] | None = None,
        quiet_until: datetime | None = None,
    ) -> None:
        """``quiet_until``: before this time the engine walks the data (rule state warms up) but
        queues nothing, as for the history a replay starts with."""
        self.db = db
        self.settings = settings
        self.hours = hours
        self.fresh = fresh or (lambda symbol: True)
        self.global_levels = settings.levels if global_levels is None else global_levels
        self.quiet_until = quiet_until
        self.levels = LevelRegistry(
            settings.level_hysteresis_pct / 100, timedelta(minutes=settings.level_cooldown_minutes)
        )
        self._cover: dict[str, datetime] = {}
        self.reload()

    # -- setup -------------------------------------------------------------------------
    def crypto(self, symbol: str) -> bool:
        return symbol in self.settings.crypto_symbols

    def watchlist(self) -> list[str]:
        return watched_equities(self.db, self.settings)

    def reload(self) -> None:
        """Load the rules' saved state and every level (call again after a chat changes its levels)."""
        band, cooldown = self.levels.band, self.levels.cooldown
        for key, book in outbox.load_states(self.db, "levels", LevelBookState).items():
            self.levels.books[key.symbol] = LevelBook.from_state(book, band=band, cooldown=cooldown)
        for key, cover in outbox.load_states(self.db, "cover", Cover).items():
            self._cover[key.symbol] = cover.until
        self.levels.load(self.global_levels, chat_levels(self.db))

    # -- the one entry point --------------------------------------------------------------
    def process(
        self, now: datetime, quotes: Sequence[Quote] = (), bars: Sequence[Bar] = (), *, silent: bool = False
    ) -> list[Decided]:
        """Decide the alerts that ``quotes`` and ``bars`` (already stored) and the clock call for.

        ``silent`` (or a time before ``quiet_until``): walk the data to warm the rules' state
        up, queueing nothing.
        """
        silent = silent or (self.quiet_until is not None and now < self.quiet_until)
        audience = [] if silent else load_audience(self.db, self.settings, now)
        candidates: list[tuple[Alert, list[int]]] = []
        states: dict[RuleKey, object] = {}
        touched = self._levels(now, quotes, bars, audience, candidates, states)
        self._moves(now, touched, audience, candidates, states)
        daily_bars = [b for b in bars if b.interval == "1d" and self.fresh(b.symbol)]
        context = daily.DailyContext(self.db, self.settings, self.hours, self.watchlist(), now, self._bar_end)
        candidates += daily.evaluate(context, daily_bars, quotes, audience, states)
        return self._decide(now, _without_echoes(self.db, candidates), states)

    # -- level breaks ------------------------------------------------------------------
    def _bar_end(self, bar: Bar) -> datetime:
        return bar_close_time(bar, self.hours, around_the_clock=self.crypto(bar.symbol))

    def _segments(self, now: datetime, quotes: Sequence[Quote], bars: Sequence[Bar]) -> list[tuple[Segment, bool]]:
        """Moves to walk, oldest first, each with whether it is fresh enough to alert on."""
        moves: list[tuple[Segment, bool]] = []
        for bar in sorted(bars, key=lambda b: (b.ts, b.interval)):
            covered = self._cover.get(bar.symbol)
            end = self._bar_end(bar)
            if covered is not None and bar.ts < covered:  # finer data already walked this time
                continue
            segment = Segment(bar.symbol, bar.ts, end, bar.open, bar.high, bar.low, bar.close, bar.ts)
            moves.append((segment, now - end <= BAR_GRACE and self.fresh(bar.symbol)))
            self._cover[bar.symbol] = end
        for quote in sorted(quotes, key=lambda q: q.ts):
            covered = self._cover.get(quote.symbol)
            if not self.fresh(quote.symbol) or (covered is not None and quote.ts <= covered):
                continue
            book = self.levels.books.get(quote.symbol)
            last = book.last_price if book and book.last_price is not None else quote.price
            moves.append((Segment.between(quote.symbol, covered or quote.ts, last, quote.ts, quote.price), True))
            self._cover[quote.symbol] = quote.ts
        return moves

    def _levels(
        self,
        now: datetime,
        quotes: Sequence[Quote],
        bars: Sequence[Bar],
        audience: Sequence[ChatPrefs],
        candidates: list[Candidate],
        states: dict[RuleKey, object],
    ) -> set[str]:
        everyone = [c.chat_id for c in audience if c.wants("level_break")]
        allowed = set(everyone)
        touched: set[str] = set()
        for segment, alerting in self._segments(now, quotes, bars):
            touched.add(segment.symbol)
            decisions = self.levels.decide(segment)
            states[RuleKey("cover", segment.symbol)] = Cover(segment.end)
            if segment.symbol in self.levels.books:
                states[RuleKey("levels", segment.symbol)] = self.levels.books[segment.symbol].state()
            if not alerting:
                continue
            for decision in decisions:
                c = decision.crossing
                alert = LevelBreak(
                    c.symbol, c.time, c.level, c.direction, c.price, c.extreme, c.through_pct, c.bar_start
                )
                chats = everyone if decision.global_level else [i for i in sorted(decision.chats) if i in allowed]
                candidates.append((alert, chats))
        return touched

    # -- large moves -------------------------------------------------------------------
    def _moves(
        self,
        now: datetime,
        touched: Iterable[str],
        audience: Sequence[ChatPrefs],
        candidates: list[Candidate],
        states: dict[RuleKey, object],
    ) -> None:
        thresholds = sorted({c.move_pct for c in audience if c.wants("large_move")})
        for symbol in sorted(touched):
            if not self.fresh(symbol) or not thresholds:
                continue
            observations = market.price_history(self.db, symbol, now - MOVE_LOOKBACK, now, self._bar_end)
            for threshold in thresholds:
                key = RuleKey("move", symbol, num(threshold))
                saved = states.get(key) or outbox.load_state(self.db, key, MoveState)
                state = saved if isinstance(saved, MoveState) else MoveState()
                state, alerts = evaluate_large_move(symbol, observations, threshold, state, now)
                states[key] = state
                for alert in alerts:
                    chats = [c.chat_id for c in audience if c.move_pct == threshold and c.wants("large_move")]
                    candidates.append((alert, chats))

    # -- decide, queue, remember: one transaction -----------------------------------------
    def _decide(
        self, now: datetime, candidates: list[tuple[Alert, list[int]]], states: dict[RuleKey, object]
    ) -> list[Decided]:
        decided: list[Decided] = []
        merged: dict[AlertKey, tuple[Alert, set[int]]] = {}
        for alert, chats in candidates:  # two settings can lead to the same alert: one message each
            merged.setdefault(alert.key, (alert, set()))[1].update(chats)
        ordered = sorted(merged.values(), key=lambda c: (c[0].time, c[0].kind, c[0].symbol, c[0].key))
        with self.db.atomic():
            for alert, chat_set in ordered:
                chats = sorted(chat_set)
                alert_id = outbox.record_alert(self.db, alert, chats, now)
                if alert_id is not None:
                    decided.append(Decided(alert_id, alert, tuple(chats)))
            for key, value in states.items():
                outbox.save_state(self.db, key, value, now)
        for d in decided:
            log.info("alert %s → %d chat(s)", d.alert.key, len(d.chat_ids))
        return decided
