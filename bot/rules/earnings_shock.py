"""Tech-earnings shocks and report heads-ups: pure rules, the clock passed in.

A *shock* is judged on the first session after a company's report (see
:func:`first_session_after`): it fires when the opening gap or the close-to-close
move (the latest price while the session runs) reaches the threshold
``min(shock_pct, sigmas × σ)``, σ being the standard deviation of the name's last
``sigma_window`` daily simple returns in % before the session (sample σ, ``ddof=1``).
With fewer than ``min_returns`` returns, or a flat series (σ = 0), the threshold is
``shock_pct`` alone. On any other session only a *gap* that large is reported
(``earnings=False``): a slow slide during the day is not a shock.

The rule is stateless: the engine stores alerts by ``key``, so returning the same
alert again for the same facts is harmless. Beside the name's move the alert gives its
peers' moves over the same session and BTC's move and 30d correlation with it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import NO_DIRECTION, AlertBase, AlertKind, EarningsDate, UtcTime, num
from bot.formatting import fmt_corr, fmt_date, fmt_pct, fmt_price, fmt_symbol, fmt_timing, headline_pct
from bot.i18n import Html, t
from bot.markettime import MarketHours, as_utc
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.correlation_stats import current_correlation
from bot.rules.sessions import (
    BTC,
    SessionPrices,
    closes_before_session,
    current_session,
    daily_sigma,
    intraday_move,
    open_session,
    session_prices,
    session_window,
)
from bot.values import Threshold, number

_REPORT_LOOKBACK = timedelta(days=14)  # longer than any run of market holidays


@dataclass(frozen=True, slots=True)
class EarningsShock(AlertBase):
    """A gap or close-to-close move past the threshold on the first session after a report
    (``earnings`` False: a gap that large without a known report)."""

    kind: ClassVar[AlertKind] = "earnings_shock"
    symbol: str
    time: UtcTime
    session: date
    gap_pct: float  # open vs prior close
    move_pct: float | None  # close (or latest price) vs prior close
    threshold_pct: float  # the effective threshold: min(shock %, sigmas × σ)
    prior_close: float
    open: float
    price: float  # the close, or the latest price while the session runs
    earnings: bool
    report_date: date | None = None
    timing: str | None = None
    peers: dict[str, float] = field(default_factory=dict)  # symbol → % move over the same session
    btc_move_pct: float | None = None
    btc_corr_30d: float | None = None
    sigma_pct: float | None = None  # σ of the last 60 daily returns, in %

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def direction_key(self) -> str:
        return NO_DIRECTION  # one shock per name, session and threshold, whichever way it went

    @property
    def period(self) -> str:
        return self.session.isoformat()


KINDS = (EarningsShock,)


@dataclass(frozen=True, slots=True)
class ShockParams:
    """How large a move counts as a shock: ``min(shock_pct, sigmas × σ)`` over ``sigma_window`` returns."""

    shock_pct: float = 7.0
    sigmas: float = 3.0
    sigma_window: int = 60
    min_returns: int = 20  # fewer returns than this: σ is not trusted, use shock_pct alone

    def __post_init__(self) -> None:
        if not (math.isfinite(self.shock_pct) and 0 < self.shock_pct <= 100):
            raise ValueError(f"shock_pct must be in (0, 100] (got {self.shock_pct})")
        if not (math.isfinite(self.sigmas) and self.sigmas > 0):
            raise ValueError(f"sigmas must be a positive number (got {self.sigmas})")
        if not 2 <= self.min_returns <= self.sigma_window:
            raise ValueError(f"need 2 <= min_returns <= sigma_window (got {self.min_returns}, {self.sigma_window})")


def shock_threshold(closes_before: Sequence[float], params: ShockParams) -> tuple[float, float | None]:
    """The effective threshold in % and σ in % (None when too few returns) from closes before the session.

    ``closes_before`` are daily closes, oldest first, ending with the prior close; only
    the last ``sigma_window + 1`` are used.
    """
    sigma = daily_sigma(closes_before, params.sigma_window, params.min_returns)
    if sigma is None:
        return params.shock_pct, None
    return min(params.shock_pct, params.sigmas * sigma), sigma


def first_session_after(report: EarningsDate, hours: MarketHours) -> date:
    """The first session that trades on the report's news.

    ``before_open`` on D: D itself (the next trading day if D is closed);
    ``after_close`` on D: the next trading day after D; ``unknown``: treated as after
    the close, the next trading day after D (a report that in fact came before the
    open is then judged one session late, against D's close).
    """
    day = report.report_date
    if report.timing == "before_open" and hours.is_trading_day(day):
        return day
    return hours.next_trading_day(day)


def _report_for(
    session: date, symbol: str, earnings: Sequence[EarningsDate], hours: MarketHours
) -> EarningsDate | None:
    """The latest report of ``symbol`` whose first session after it is ``session``."""
    matches = [
        e
        for e in earnings
        if e.symbol == symbol
        and session - _REPORT_LOOKBACK <= e.report_date <= session  # keeps old dates off the calendar
        and first_session_after(e, hours) == session
    ]
    return max(matches, key=lambda e: e.report_date, default=None)


def evaluate_shock(
    prices: SessionPrices,
    closes_before: Sequence[float],
    earnings: Sequence[EarningsDate],
    hours: MarketHours,
    params: ShockParams,
    now: datetime,
    *,
    peers: Mapping[str, float] | None = None,
    btc_move_pct: float | None = None,
    btc_corr_30d: float | None = None,
) -> EarningsShock | None:
    """An :class:`EarningsShock` if this session's gap or move reaches the threshold, else None.

    On the first session after a known report either |gap| or |move| fires
    (``earnings=True``); on any other session only |gap| does (``earnings=False``).
    Nothing is judged on a closed day or before the session opens. ``peers`` are
    other names' % moves over the same session (the name itself is left out); the
    BTC context is passed through as given.
    """
    now = as_utc(now)
    session = hours.session(prices.session)
    if session is None or now < session.open:
        return None
    threshold, sigma = shock_threshold(closes_before, params)
    gap, move = prices.gap_pct, prices.move_pct
    report = _report_for(prices.session, prices.symbol, earnings, hours)
    fired = abs(gap) >= threshold or (report is not None and abs(move) >= threshold)
    if not fired:
        return None
    return EarningsShock(
        symbol=prices.symbol,
        time=now,
        session=prices.session,
        gap_pct=gap,
        move_pct=move,
        threshold_pct=threshold,
        prior_close=prices.prior_close,
        open=prices.open,
        price=prices.price,
        earnings=report is not None,
        report_date=report.report_date if report else None,
        timing=report.timing if report else None,
        peers={s: float(p) for s, p in (peers or {}).items() if s != prices.symbol},
        btc_move_pct=btc_move_pct,
        btc_corr_30d=btc_corr_30d,
        sigma_pct=sigma,
    )


# -- the rule contract -------------------------------------------------------------------

NAME = "earnings_shock"
MUTE_GROUP = "earnings"
HISTORY = timedelta(days=120)
CORRELATION_HISTORY = timedelta(days=400)
MAX_PEERS = 12  # an earnings shock lists at most this many peers, the largest moves first
NASDAQ_PROXY = "QQQ"
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "shock",
        Threshold,
        lambda text: Threshold(number(text, low=0.5, high=50.0), "%"),
        default=lambda settings: Threshold(settings.shock_pct, "%"),
        label="setting.shock",
        help="set.help.shock",
        example="/set shock 7",
        aliases=("earnings", "shock_pct"),
    ),
)
State = Stateless


@dataclass(frozen=True, slots=True)
class Inputs:
    prices: SessionPrices | None
    closes_before: tuple[float, ...]
    earnings: tuple[EarningsDate, ...]
    hours: MarketHours
    peers: Mapping[str, float]
    btc_move_pct: float | None
    btc_corr_30d: float | None


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["shock"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    """Names whose session just closed (a daily bar), or that traded while their session runs (a quote)."""
    closed = {b.symbol for b in tick.daily_bars() if b.symbol in tick.watchlist}
    trading = {q.symbol for q in tick.quotes if q.symbol in tick.watchlist} if open_session(tick) else set()
    return sorted(closed | trading)


def _btc_move(view: MarketView, tick: Tick, session: date) -> float | None:
    """BTC over the stock's window (previous close to now), from intraday BTC; None without it."""
    window = session_window(tick.hours, session, tick.now)
    move = intraday_move(view, BTC, *window) if window else None
    return move.move_pct if move else None


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    daily = view.daily(scope, tick.now - HISTORY)
    prices = current_session(view, tick, scope, daily)
    if prices is None:
        return Inputs(None, (), (), tick.hours, {}, None, None)
    peers: dict[str, float] = {}
    for peer in tick.watchlist:
        if peer != scope:
            peer_prices = session_prices(peer, view.daily(peer, tick.now - HISTORY), prices.session, hours=tick.hours)
            if peer_prices is not None:
                peers[peer] = peer_prices.move_pct
    since = tick.now - CORRELATION_HISTORY
    reading = current_correlation(
        view.daily("BTC", since), view.daily(scope, since), view.settings.corr_windows[0], now=tick.now
    )
    return Inputs(
        prices,
        tuple(closes_before_session(daily, prices.session)),
        tuple(view.earnings([scope], prices.session - timedelta(days=10))),
        tick.hours,
        peers,
        _btc_move(view, tick, prices.session),
        reading.value if reading else None,
    )


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    if inputs.prices is None or params.pct(None) is None:
        return state, []
    alert = evaluate_shock(
        inputs.prices,
        inputs.closes_before,
        inputs.earnings,
        inputs.hours,
        ShockParams(params.value),
        now,
        peers=inputs.peers,
        btc_move_pct=inputs.btc_move_pct,
        btc_corr_30d=inputs.btc_corr_30d,
    )
    return state, [] if alert is None else [Out(alert)]


def _up(value: float | None) -> bool:
    return value is None or math.isnan(value) or value >= 0


def _peers(peers: Mapping[str, float], lang: str) -> Html:
    def size(item: tuple[str, float]) -> float:
        return abs(item[1]) if isinstance(item[1], (int, float)) and math.isfinite(item[1]) else -1.0

    ranked = sorted(peers.items(), key=lambda item: (-size(item), str(item[0])))
    items = []
    for symbol, move in ranked[:MAX_PEERS]:
        name = fmt_symbol(symbol)
        label = t(lang, "alert.shock.nasdaq", symbol=name) if name == NASDAQ_PROXY else html.escape(name, quote=False)
        items.append(f"{label} {fmt_pct(move, lang)}")
    if len(ranked) > MAX_PEERS:
        items.append(t(lang, "alert.shock.more_peers", count=len(ranked) - MAX_PEERS))
    return Html(t(lang, "alert.list_sep").join(items))


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsShock)
    a = alert
    symbol = fmt_symbol(a.symbol)
    prices = {"open": fmt_price(a.open, lang), "prior_close": fmt_price(a.prior_close, lang)}
    if a.earnings and a.move_pct is not None:  # the day's move is the news; the gap is context
        way = "up" if _up(a.move_pct) else "down"
        headline = t(lang, f"alert.shock.earnings_{way}", symbol=symbol, move=headline_pct(a.move_pct, lang))
        lines = [headline, t(lang, "alert.shock.gap_line", gap=fmt_pct(a.gap_pct, lang), **prices)]
    else:  # the gap is what fired (always so without a report)
        kind = "earnings_gap" if a.earnings else "gap"
        way = "up" if _up(a.gap_pct) else "down"
        lines = [
            t(lang, f"alert.shock.{kind}_{way}", symbol=symbol, move=headline_pct(a.gap_pct, lang)),
            t(lang, "alert.shock.open_line", **prices),
        ]
        if a.move_pct is not None:
            move = fmt_pct(a.move_pct, lang)
            lines.append(t(lang, "alert.shock.move_line", price=fmt_price(a.price, lang), move=move))
    if not a.earnings:
        lines.append(t(lang, "alert.shock.no_report"))
    elif a.report_date is not None:
        reported = {"date": fmt_date(a.report_date, lang), "timing": fmt_timing(lang, a.timing)}
        lines.append(t(lang, "alert.shock.reported", **reported))
    if a.peers:
        lines.append(t(lang, "alert.shock.peers", peers=_peers(a.peers, lang)))
    btc, corr = a.btc_move_pct, a.btc_corr_30d
    if btc is not None and corr is not None:
        lines.append(t(lang, "alert.shock.btc", move=fmt_pct(btc, lang), symbol=symbol, corr=fmt_corr(corr)))
    elif btc is not None:
        lines.append(t(lang, "alert.shock.btc_move", move=fmt_pct(btc, lang)))
    elif corr is not None:
        lines.append(t(lang, "alert.shock.btc_corr", symbol=symbol, corr=fmt_corr(corr)))
    return lines
