"""Market-wide moves: a session where the tech names move together is one message, not many.

A session is a **tech sell-off** (or **rally**) when the market index (``MARKET_INDEX``,
QQQ by default) moves at least :data:`INDEX_SIGMAS` σ since the previous session's
close, or when at least :data:`MIN_NAMES` other watched names each move at least
:data:`NAME_SIGMAS` σ the same way, σ being each name's own standard deviation of its
last 60 daily returns (names without 20 returns yet are listed but not counted). The
message lists every watched name's move (with its σ) and BTC's move over the same
hours (previous close to now, from intraday BTC; left out without it). It is judged on
the session's daily bars once it closes, or on quotes while it trades, and told once
per session and direction (its key holds the session). The single large-move alerts of
the names it lists are folded into it by the engine (:mod:`bot.engine.echoes`).

There is no per-chat setting: ``/mute move`` silences it with the large moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, Direction, UtcTime
from bot.formatting import fmt_pct, fmt_sigmas, fmt_ticker, fmt_weekday
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.sessions import (
    BTC,
    SessionPrices,
    closes_before_session,
    daily_sigma,
    intraday_move,
    open_session,
    session_at,
    session_window,
)

INDEX_SIGMAS = 2.0
NAME_SIGMAS = 2.0
MIN_NAMES = 3
HISTORY = timedelta(days=120)  # daily bars for σ (60 sessions)


@dataclass(frozen=True, slots=True)
class MarketMove(AlertBase):
    kind: ClassVar[AlertKind] = "market_move"
    symbol: str  # the market index
    time: UtcTime
    session: date
    prior_session: date
    direction: Direction
    moves: dict[str, float] = field(default_factory=dict)  # every watched name: % since the previous close
    sigmas: dict[str, float] = field(default_factory=dict)  # σ of each name's daily returns, in %
    together: tuple[str, ...] = ()  # the names (index included) that moved NAME_SIGMAS σ or more this way
    btc_move_pct: float | None = None  # BTC over the same hours
    complete: bool = True  # the session had closed

    @property
    def param(self) -> str:
        return f"{INDEX_SIGMAS:g}σ/{MIN_NAMES}"

    @property
    def period(self) -> str:
        return self.session.isoformat()

    def folds(self, symbol: str, move_pct: float, threshold_pct: float) -> bool:
        """Whether this message already told ``symbol``'s own large move of the session: it lists
        the name moving this way by at least the large move's threshold."""
        listed = self.moves.get(symbol)
        return listed is not None and (move_pct < 0) == (listed < 0) and abs(listed) >= threshold_pct


KINDS = (MarketMove,)
NAME = "market_move"
MUTE_GROUP = "move"
SETTINGS: tuple[Setting[Any], ...] = ()
State = Stateless


@dataclass(frozen=True, slots=True)
class Inputs:
    index: str
    sessions: tuple[SessionPrices, ...] = ()  # every watched name's session so far (one session)
    sigmas: Mapping[str, float] = field(default_factory=dict)
    btc_move_pct: float | None = None


def params(values: Mapping[str, Any]) -> str:
    return "market"  # the same for every chat


def scopes(tick: Tick) -> Iterable[str]:
    closed = any(b.symbol in tick.watchlist for b in tick.daily_bars())
    trading = open_session(tick) is not None and any(q.symbol in tick.watchlist for q in tick.quotes)
    return ["*"] if closed or trading else []


def _session_day(tick: Tick) -> date | None:
    days = [b.ts.date() for b in tick.daily_bars() if b.symbol in tick.watchlist]
    if days:
        return max(days)
    session = open_session(tick)
    return session.day if session else None


def inputs(view: MarketView, tick: Tick, scope: str, params: str) -> Inputs:
    index = view.settings.market_index
    day = _session_day(tick)
    if day is None:
        return Inputs(index)
    sessions, sigmas = [], {}
    for symbol in tick.watchlist:
        if not tick.fresh(symbol):
            continue
        daily = view.daily(symbol, tick.now - HISTORY)
        prices = session_at(view, tick, symbol, daily, day)
        if prices is None:
            continue
        sessions.append(prices)
        sigma = daily_sigma(closes_before_session(daily, day))
        if sigma is not None:
            sigmas[symbol] = sigma
    window = session_window(tick.hours, day, tick.now)
    btc = intraday_move(view, BTC, *window) if window else None
    return Inputs(index, tuple(sessions), sigmas, btc.move_pct if btc else None)


def evaluate_market(inputs: Inputs, now: datetime) -> MarketMove | None:
    """A :class:`MarketMove` if the index, or enough watched names, moved together this session."""
    moves = {p.symbol: p.move_pct for p in inputs.sessions}
    if not inputs.sessions:
        return None
    best: tuple[int, Direction, tuple[str, ...]] | None = None
    ways: tuple[tuple[Direction, float], ...] = (("down", -1.0), ("up", 1.0))
    for direction, sign in ways:
        together = tuple(
            symbol
            for symbol, move in moves.items()
            if symbol in inputs.sigmas and sign * move / inputs.sigmas[symbol] >= NAME_SIGMAS
        )
        index_hit = inputs.index in together and inputs.index in moves
        names = [s for s in together if s != inputs.index]
        if (index_hit or len(names) >= MIN_NAMES) and (best is None or len(together) > best[0]):
            best = (len(together), direction, together)
    if best is None:
        return None
    first = inputs.sessions[0]
    return MarketMove(
        symbol=inputs.index,
        time=as_utc(now),
        session=first.session,
        prior_session=first.prior_session or first.session,
        direction=best[1],
        moves=moves,
        sigmas=dict(inputs.sigmas),
        together=best[2],
        btc_move_pct=inputs.btc_move_pct,
        complete=all(p.complete for p in inputs.sessions),
    )


def evaluate(inputs: Inputs, state: Stateless, params: str, now: datetime) -> tuple[Stateless, list[Out]]:
    alert = evaluate_market(inputs, now)
    return state, [] if alert is None else [Out(alert)]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, MarketMove)
    a = alert
    way = "down" if a.direction == "down" else "up"
    sign = -1.0 if way == "down" else 1.0

    def order(symbol: str) -> tuple[bool, float, str]:
        return (symbol != a.symbol, -sign * a.moves[symbol], symbol)

    lines = [t(lang, f"alert.market.{way}", day=fmt_weekday(a.prior_session, lang))]
    for symbol in sorted(a.moves, key=order):
        sigma = a.sigmas.get(symbol)
        size = t(lang, "alert.move.sigmas", sigmas=fmt_sigmas(a.moves[symbol] / sigma, lang)) if sigma else ""
        lines.append(f"{fmt_ticker(symbol, lang)} {fmt_pct(a.moves[symbol], lang)}{size}")
    if a.btc_move_pct is not None:
        lines.append(t(lang, "alert.market.btc", move=fmt_pct(a.btc_move_pct, lang)))
    return lines
