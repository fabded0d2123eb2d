"""The engine's daily rules: correlation spikes, earnings shocks and heads-ups, fed from the store.

Each rule is evaluated once per distinct setting among the chats that want it; the
candidates come back with the chats whose setting produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import Alert, Bar, Quote, num
from bot.engine.correlation import (
    CorrelationParams,
    CorrelationState,
    aligned_returns,
    apply_rule,
    correlation_series,
    current_correlation,
)
from bot.engine.shocks import (
    SessionPrices,
    ShockParams,
    closes_before_session,
    evaluate_heads_up,
    evaluate_shock,
    session_prices,
)
from bot.markettime import CalendarRangeError, MarketHours
from bot.store import market, outbox
from bot.store.outbox import RuleKey
from bot.store.prefs import ChatPrefs

BTC = "BTC"
HISTORY = timedelta(days=400)
SHOCK_HISTORY = timedelta(days=120)

Candidate = tuple[Alert, list[int]]


@dataclass(frozen=True, slots=True)
class DailyContext:
    db: Database
    settings: Settings
    hours: MarketHours
    watchlist: list[str]
    now: datetime
    bar_end: Callable[[Bar], datetime]  # when a bar closed (the engine's market-aware rule)
    _loaded: dict[str, list[Bar]] = field(default_factory=dict)  # daily bars read once per evaluation

    def daily(self, symbol: str, history: timedelta = HISTORY) -> list[Bar]:
        """Daily bars of ``symbol`` that started within ``history`` of now, oldest first."""
        if symbol not in self._loaded:
            self._loaded[symbol] = market.load_bars(self.db, symbol, "1d", self.now - HISTORY)
        since = self.now - history
        return [bar for bar in self._loaded[symbol] if bar.ts >= since]


def evaluate(
    ctx: DailyContext,
    daily_bars: Sequence[Bar],
    quotes: Sequence[Quote],
    audience: Sequence[ChatPrefs],
    states: dict[RuleKey, object],
) -> list[Candidate]:
    out: list[Candidate] = []
    if daily_bars:
        out += correlations(ctx, audience, states)
        for bar in daily_bars:
            if bar.symbol in ctx.watchlist:
                out += shocks_for_session(ctx, bar.symbol, bar.ts.date(), audience, complete=True)
    out += intraday_shocks(ctx, quotes, audience)
    out += heads_up(ctx, audience)
    return out


# -- correlation ------------------------------------------------------------------------
def correlations(ctx: DailyContext, audience: Sequence[ChatPrefs], states: dict[RuleKey, object]) -> list[Candidate]:
    wanted = [c for c in audience if c.wants("correlation_spike") or c.wants("correlation_resolved")]
    settings = sorted({(c.corr_threshold, c.corr_jump) for c in wanted})
    if not settings:
        return []
    btc = ctx.daily(BTC)
    out: list[Candidate] = []
    for symbol in ctx.watchlist:
        series = correlation_series(aligned_returns(btc, ctx.daily(symbol), now=ctx.now), ctx.settings.corr_windows)
        for threshold, jump in settings:
            params = CorrelationParams(threshold, jump, ctx.settings.corr_windows)
            key = RuleKey("corr", symbol, f"{num(threshold)}/{num(jump)}")
            saved = states.get(key) or outbox.load_state(ctx.db, key, CorrelationState)
            state = saved if isinstance(saved, CorrelationState) else CorrelationState()
            state, alerts = apply_rule(symbol, series, params, state, ctx.now)
            states[key] = state
            for alert in alerts:
                chats = [
                    c.chat_id
                    for c in wanted
                    if (c.corr_threshold, c.corr_jump) == (threshold, jump) and c.wants(alert.kind)
                ]
                if alert.kind == "correlation_resolved":  # only to those who were told of the spike
                    told = set(outbox.chats_of_latest(ctx.db, "correlation_spike", symbol, alert.param))
                    chats = [c for c in chats if c in told]
                out.append((alert, chats))
    return out


# -- earnings shocks ---------------------------------------------------------------------
def _price_at(ctx: DailyContext, symbol: str, when: datetime) -> float | None:
    history = market.price_history(ctx.db, symbol, when - timedelta(days=3), when, ctx.bar_end)
    return history[-1][1] if history else None


def _btc_move(ctx: DailyContext, session_close: datetime, prior_close: datetime) -> float | None:
    now_price = _price_at(ctx, BTC, min(session_close, ctx.now))
    before = _price_at(ctx, BTC, prior_close)
    return (now_price / before - 1) * 100 if now_price and before else None


def _shock_candidates(
    ctx: DailyContext, prices: SessionPrices, daily: list[Bar], audience: Sequence[ChatPrefs]
) -> list[Candidate]:
    wanted = [c for c in audience if c.wants("earnings_shock")]
    if not wanted:
        return []
    try:
        session = ctx.hours.session(prices.session)
        prior = ctx.hours.session(ctx.hours.previous_trading_day(prices.session))
    except CalendarRangeError:
        return []
    if session is None or prior is None:
        return []
    peers: dict[str, float] = {}
    for peer in ctx.watchlist:
        if peer == prices.symbol:
            continue
        peer_prices = session_prices(peer, ctx.daily(peer, SHOCK_HISTORY), prices.session, hours=ctx.hours)
        if peer_prices is not None:
            peers[peer] = peer_prices.move_pct
    reading = current_correlation(ctx.daily(BTC), ctx.daily(prices.symbol), ctx.settings.corr_windows[0], now=ctx.now)
    earnings = market.load_earnings(ctx.db, [prices.symbol], since=prices.session - timedelta(days=10))
    closes = closes_before_session(daily, prices.session)
    out: list[Candidate] = []
    for shock_pct in sorted({c.shock_pct for c in wanted}):
        alert = evaluate_shock(
            prices,
            closes,
            earnings,
            ctx.hours,
            ShockParams(shock_pct),
            ctx.now,
            peers=peers,
            btc_move_pct=_btc_move(ctx, session.close, prior.close),
            btc_corr_30d=reading.value if reading else None,
        )
        if alert is not None:
            out.append((alert, [c.chat_id for c in wanted if c.shock_pct == shock_pct]))
    return out


def shocks_for_session(
    ctx: DailyContext, symbol: str, day: date, audience: Sequence[ChatPrefs], *, complete: bool
) -> list[Candidate]:
    daily = ctx.daily(symbol, SHOCK_HISTORY)
    prices = session_prices(symbol, daily, day, complete=complete, hours=ctx.hours)
    return _shock_candidates(ctx, prices, daily, audience) if prices else []


def intraday_shocks(ctx: DailyContext, quotes: Sequence[Quote], audience: Sequence[ChatPrefs]) -> list[Candidate]:
    """While a session runs: the first quote of the session stands for the open, the latest for the price."""
    out: list[Candidate] = []
    try:
        if not ctx.hours.is_open(ctx.now):
            return out
        session = ctx.hours.latest_started_session(ctx.now)
    except CalendarRangeError:
        return out
    for quote in quotes:
        if quote.symbol not in ctx.watchlist or quote.ts < session.open:
            continue
        daily = [b for b in ctx.daily(quote.symbol, SHOCK_HISTORY) if b.ts.date() < session.day]
        first = market.first_quote_since(ctx.db, quote.symbol, session.open)
        if not daily or first is None or daily[-1].ts.date() != ctx.hours.previous_trading_day(session.day):
            continue
        prices = SessionPrices(quote.symbol, session.day, daily[-1].close, first.price, quote.price, False)
        out += _shock_candidates(ctx, prices, daily, audience)
    return out


# -- heads-up ----------------------------------------------------------------------------
def heads_up(ctx: DailyContext, audience: Sequence[ChatPrefs]) -> list[Candidate]:
    wanted = [c.chat_id for c in audience if c.heads_up and c.wants("earnings_upcoming")]
    today = ctx.now.date()
    earnings = market.load_earnings(ctx.db, ctx.watchlist, since=today - timedelta(days=1))
    try:
        alerts = evaluate_heads_up(earnings, ctx.watchlist, ctx.hours, ctx.now)
    except CalendarRangeError:
        return []
    return [(a, wanted) for a in alerts if not outbox.alert_exists(ctx.db, a.key)]
