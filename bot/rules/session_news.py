"""What the news alerts of a name's session (earnings shock, reversal, gap) show beside its move:
its peers over the same session, its move net of the market, and BTC over the same hours.

*Net of the market*: the name's β to the market index (``MARKET_INDEX``, QQQ) is the
slope of its daily returns on the index's over the last :data:`BETA_WINDOW` common
sessions before this one (at least :data:`MIN_RETURNS`); the net move is
``move − β × index move``, the part of the move the market does not explain.
*BTC* moved over the stock's window (previous close to now), from intraday prices only
(see :func:`~bot.rules.sessions.intraday_move`); without them the line is left out.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.domain import NO_DIRECTION, AlertBase, Bar, UtcTime, num
from bot.formatting import fmt_corr, fmt_date, fmt_pct, fmt_symbol, fmt_ticker, fmt_timing
from bot.i18n import Html, t
from bot.rules.contract import MarketView, Tick
from bot.rules.correlation_stats import current_correlation
from bot.rules.sessions import BTC, MIN_RETURNS, SessionPrices, intraday_move, pct, session_prices, session_window

BETA_WINDOW = 60
HISTORY = timedelta(days=120)
CORRELATION_HISTORY = timedelta(days=400)
MAX_PEERS = 12  # at most this many peers are listed, the largest moves first


def market_beta(
    name: Sequence[Bar], index: Sequence[Bar], before: date, window: int = BETA_WINDOW, min_returns: int = MIN_RETURNS
) -> float | None:
    """The name's β to the index: the slope of its daily returns on the index's, over the last
    ``window`` returns of the sessions both have before ``before``; None with fewer than
    ``min_returns`` or a flat index."""
    a = {bar.ts.date(): bar.close for bar in name if bar.ts.date() < before}
    m = {bar.ts.date(): bar.close for bar in index if bar.ts.date() < before}
    days = sorted(a.keys() & m.keys())[-(window + 1) :]
    ra = [pct(a[y], a[x]) for x, y in itertools.pairwise(days)]
    rm = [pct(m[y], m[x]) for x, y in itertools.pairwise(days)]
    if len(rm) < min_returns:
        return None
    variance = statistics.variance(rm)
    if not variance > 0:
        return None
    return statistics.covariance(ra, rm) / variance


@dataclass(frozen=True, slots=True)
class SessionNews(AlertBase):
    """What every news alert about a name's session carries: its prices, and beside them its
    peers, the market and BTC over the same session."""

    symbol: str
    time: UtcTime
    session: date
    gap_pct: float  # open vs prior close
    move_pct: float | None  # close (or latest price) vs prior close
    threshold_pct: float  # the threshold it was judged by, in %
    prior_close: float
    open: float
    price: float  # the close, or the latest price while the session runs
    peers: dict[str, float] = field(default_factory=dict)  # symbol → % move over the same session
    btc_move_pct: float | None = None  # over the same hours
    btc_corr_30d: float | None = None
    sigma_pct: float | None = None  # σ of the last 60 daily returns, in %
    index: str | None = None  # the market index, if it traded that session
    index_move_pct: float | None = None
    beta: float | None = None  # the name's β to the index
    net_move_pct: float | None = None  # move − β × index move

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def direction_key(self) -> str:
        return NO_DIRECTION  # one per name, session and threshold, whichever way it went

    @property
    def period(self) -> str:
        return self.session.isoformat()

    @property
    def context(self) -> SessionContext:
        return SessionContext(
            self.peers, self.index, self.index_move_pct, self.beta, self.btc_move_pct, self.btc_corr_30d
        )


def news_fields(
    prices: SessionPrices, context: SessionContext, threshold_pct: float, sigma_pct: float | None
) -> dict[str, Any]:
    """The :class:`SessionNews` fields of a session, for an alert's constructor."""
    return {
        "symbol": prices.symbol,
        "session": prices.session,
        "gap_pct": prices.gap_pct,
        "move_pct": prices.move_pct,
        "threshold_pct": threshold_pct,
        "prior_close": prices.prior_close,
        "open": prices.open,
        "price": prices.price,
        "peers": {s: float(p) for s, p in context.peers.items() if s != prices.symbol},
        "btc_move_pct": context.btc_move_pct,
        "btc_corr_30d": context.btc_corr_30d,
        "sigma_pct": sigma_pct,
        "index": context.index,
        "index_move_pct": context.index_move_pct,
        "beta": context.beta,
        "net_move_pct": net_move(prices.move_pct, context.beta, context.index_move_pct),
    }


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What is shown beside a name's session move."""

    peers: dict[str, float] = field(default_factory=dict)  # symbol → % move over the same session
    index: str | None = None  # the market index, if it traded that session
    index_move_pct: float | None = None
    beta: float | None = None
    btc_move_pct: float | None = None  # over the same hours
    btc_corr_30d: float | None = None


def session_context(view: MarketView, tick: Tick, prices: SessionPrices) -> SessionContext:
    """Peers, the market and BTC over ``prices``'s session, as the tick sees them."""
    symbol, day = prices.symbol, prices.session
    peers: dict[str, float] = {}
    for peer in tick.watchlist:
        if peer != symbol:
            peer_prices = session_prices(peer, view.daily(peer, tick.now - HISTORY), day, hours=tick.hours)
            if peer_prices is not None:
                peers[peer] = peer_prices.move_pct
    index = view.settings.market_index
    beta = None
    if index != symbol and index in peers:
        beta = market_beta(view.daily(symbol, tick.now - HISTORY), view.daily(index, tick.now - HISTORY), day)
    window = session_window(tick.hours, day, tick.now)
    btc = intraday_move(view, BTC, *window) if window else None
    since = tick.now - CORRELATION_HISTORY
    reading = current_correlation(
        view.daily(BTC, since), view.daily(symbol, since), view.settings.corr_windows[0], now=tick.now
    )
    return SessionContext(
        peers,
        index if index in peers else None,
        peers.get(index),
        beta,
        btc.move_pct if btc else None,
        reading.value if reading else None,
    )


def net_move(move_pct: float | None, beta: float | None, index_move_pct: float | None) -> float | None:
    """The move the market does not explain: ``move − β × index move``."""
    if move_pct is None or beta is None or index_move_pct is None:
        return None
    return move_pct - beta * index_move_pct


def peers_text(peers: Mapping[str, float], lang: str) -> Html:
    """``AMD −7.8 %, ORCL −6.6 %``: the peers, largest moves first (as the alert lists them)."""

    def size(item: tuple[str, float]) -> float:
        return abs(item[1]) if isinstance(item[1], (int, float)) and math.isfinite(item[1]) else -1.0

    ranked = sorted(peers.items(), key=lambda item: (-size(item), str(item[0])))
    items = [f"{fmt_ticker(symbol, lang)} {fmt_pct(move, lang)}" for symbol, move in ranked[:MAX_PEERS]]
    if len(ranked) > MAX_PEERS:
        items.append(t(lang, "alert.shock.more_peers", count=len(ranked) - MAX_PEERS))
    return Html(t(lang, "alert.list_sep").join(items))


def reported_lines(report_date: date | None, timing: str | None, lang: str) -> list[str]:
    """``Reported Wed 10 Dec after the close``, under every earnings alert that knows its report."""
    if report_date is None:
        return []
    return [t(lang, "alert.shock.reported", date=fmt_date(report_date, lang), timing=fmt_timing(lang, timing))]


def context_lines(
    symbol: str,
    move_pct: float | None,
    context: SessionContext,
    lang: str,
) -> list[str]:
    """The lines under a session alert's headline: net of the market, peers, BTC."""
    lines = []
    net = net_move(move_pct, context.beta, context.index_move_pct)
    if net is not None and context.index and context.beta is not None:
        lines.append(
            t(
                lang,
                "alert.shock.net",
                net=fmt_pct(net, lang),
                beta=fmt_corr(context.beta, lang=lang),
                index=fmt_ticker(context.index, lang),
                index_move=fmt_pct(context.index_move_pct, lang),
            )
        )
    if context.peers:
        lines.append(t(lang, "alert.shock.peers", peers=peers_text(context.peers, lang)))
    btc, corr, name = context.btc_move_pct, context.btc_corr_30d, fmt_symbol(symbol)
    if btc is not None and corr is not None:
        lines.append(t(lang, "alert.shock.btc", move=fmt_pct(btc, lang), symbol=name, corr=fmt_corr(corr)))
    elif btc is not None:
        lines.append(t(lang, "alert.shock.btc_move", move=fmt_pct(btc, lang)))
    elif corr is not None:
        lines.append(t(lang, "alert.shock.btc_corr", symbol=name, corr=fmt_corr(corr)))
    return lines
