"""Tech-earnings shocks and report heads-ups: pure rules, the clock passed in.

A *shock* is judged on the first session after a company's report (see
:func:`first_session_after`): it fires when the opening gap or the close-to-close
move (the latest price while the session runs) reaches the threshold
``min(shock_pct, sigmas × σ)``, σ being the standard deviation of the name's last
``sigma_window`` daily simple returns in % before the session (sample σ, ``ddof=1``).
With fewer than ``min_returns`` returns, or a flat series (σ = 0), the threshold is
``shock_pct`` alone. A gap that large on a session without a report is another kind
(:mod:`bot.rules.gap`), and so is a report-day reversal (:mod:`bot.rules.earnings_reversal`).

The rule is stateless: the engine stores alerts by ``key``, so returning the same
alert again for the same facts is harmless. Beside the name's move the alert gives its
move net of the market, its peers' moves over the same session, and BTC's move over
the same hours and 30d correlation with it (:mod:`bot.rules.session_news`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, EarningsDate
from bot.formatting import fmt_pct, fmt_price, fmt_symbol, headline_pct
from bot.i18n import t
from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, as_utc
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.session_news import (
    SessionContext,
    SessionNews,
    context_lines,
    news_fields,
    reported_lines,
    session_context,
)
from bot.rules.sessions import (
    SessionPrices,
    closes_before_session,
    current_session,
    daily_sigma,
    open_session,
    pct,
)
from bot.values import Threshold, number

_REPORT_LOOKBACK = timedelta(days=14)  # longer than any run of market holidays
PRE_MARKET_OPENS = time(4, 0)  # New York


@dataclass(frozen=True, slots=True)
class EarningsShock(SessionNews):
    """A gap or close-to-close move past the threshold on the first session after a report."""

    kind: ClassVar[AlertKind] = "earnings_shock"
    earnings: bool = True  # (False in alerts stored before gaps became their own kind)
    report_date: date | None = None
    timing: str | None = None
    extended_pct: float | None = None  # the last after-hours (or pre-market) move before the open
    extended_pre: bool = False  # that move was pre-market

    @property
    def follows(self) -> tuple[AlertKind, str] | None:
        # the report's first move, after hours or before the open, if it was told: this answers it
        return ("earnings_extended", self.session.isoformat()) if self.earnings else None


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


@dataclass(frozen=True, slots=True)
class Window:
    """The extended hours in which a report is first traded, before the session that trades it."""

    session: date  # the first regular session after the report
    closed: datetime  # the regular close before it: what the move is measured against
    since: datetime  # the report's news can trade from here: that close, or 04:00 before the open
    until: datetime  # the session's open


def report_window(report: EarningsDate, hours: MarketHours) -> Window | None:
    try:
        session = first_session_after(report, hours)
        opens, before = hours.session(session), hours.session(hours.previous_trading_day(session))
    except CalendarRangeError:
        return None
    if opens is None or before is None:
        return None
    premarket = datetime.combine(session, PRE_MARKET_OPENS, NEW_YORK)
    return Window(session, before.close, premarket if report.timing == "before_open" else before.close, opens.open)


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


def report_session(prices: SessionPrices, earnings: Sequence[EarningsDate], hours: MarketHours) -> EarningsDate | None:
    """The report whose first session after it is ``prices``'s session, if any."""
    return _report_for(prices.session, prices.symbol, earnings, hours)


def evaluate_shock(
    prices: SessionPrices,
    closes_before: Sequence[float],
    earnings: Sequence[EarningsDate],
    hours: MarketHours,
    params: ShockParams,
    now: datetime,
    *,
    context: SessionContext | None = None,
) -> EarningsShock | None:
    """An :class:`EarningsShock` if this is the first session after a report and its gap or
    move reaches the threshold, else None. Nothing is judged on a closed day or before the
    session opens. ``context``: the peers, market and BTC shown beside it."""
    now = as_utc(now)
    session = hours.session(prices.session)
    if session is None or now < session.open:
        return None
    report = report_session(prices, earnings, hours)
    threshold, sigma = shock_threshold(closes_before, params)
    if report is None or max(abs(prices.gap_pct), abs(prices.move_pct)) < threshold:
        return None
    return EarningsShock(
        time=now,
        **news_fields(prices, context or SessionContext(), threshold, sigma),
        report_date=report.report_date,
        timing=report.timing,
    )


# -- the rule contract -------------------------------------------------------------------

NAME = "earnings_shock"
MUTE_GROUP = "earnings"
HISTORY = timedelta(days=120)
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
    closes_before: tuple[float, ...] = ()
    earnings: tuple[EarningsDate, ...] = ()
    hours: MarketHours | None = None
    context: SessionContext = field(default_factory=SessionContext)
    extended_pct: float | None = None  # the last extended-hours move before the open, if any traded


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["shock"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    """Names whose session just closed (a daily bar), or that traded while their session runs (a quote)."""
    closed = {b.symbol for b in tick.daily_bars() if b.symbol in tick.watchlist}
    trading = {q.symbol for q in tick.quotes if q.symbol in tick.watchlist} if open_session(tick) else set()
    return sorted(closed | trading)


def session_inputs(view: MarketView, tick: Tick, scope: str) -> Inputs:
    """A name's session so far, its history, its reports and what goes beside it (shared by
    the shock, reversal and gap rules: read once per tick)."""
    return view.memo(("session_inputs", scope), lambda: _session_inputs(view, tick, scope))


def _session_inputs(view: MarketView, tick: Tick, scope: str) -> Inputs:
    daily = view.daily(scope, tick.now - HISTORY)
    prices = current_session(view, tick, scope, daily)
    if prices is None:
        return Inputs(None)
    earnings = tuple(view.earnings([scope], prices.session - timedelta(days=10)))
    report = report_session(prices, earnings, tick.hours)
    window = report_window(report, tick.hours) if report is not None else None
    extended = None
    if window is not None:  # the report's first trades, after hours or pre-market
        traded = [p for t, p in view.intraday(scope, window.since, window.until) if window.since < t < window.until]
        extended = pct(traded[-1], prices.prior_close) if traded and prices.prior_close else None
    return Inputs(
        prices,
        tuple(closes_before_session(daily, prices.session)),
        earnings,
        tick.hours,
        session_context(view, tick, prices),
        extended,
    )


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    return session_inputs(view, tick, scope)


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    if inputs.prices is None or inputs.hours is None or params.pct(None) is None:
        return state, []
    alert = evaluate_shock(
        inputs.prices,
        inputs.closes_before,
        inputs.earnings,
        inputs.hours,
        ShockParams(params.value),
        now,
        context=inputs.context,
    )
    if alert is not None and inputs.extended_pct is not None:
        alert = replace(alert, extended_pct=inputs.extended_pct, extended_pre=alert.timing == "before_open")
    return state, [] if alert is None else [Out(alert)]


def _extended_line(a: EarningsShock, lang: str) -> str:
    """How the open answered the report's first trades: confirmed, deepened, faded or reversed."""
    assert a.extended_pct is not None
    ext, gap = a.extended_pct, a.gap_pct
    if (ext >= 0) != (gap >= 0) and abs(gap) >= 0.1:
        verdict = "reversed"
    elif abs(gap) >= abs(ext) * 1.15:
        verdict = "deepened"
    elif abs(gap) <= abs(ext) * 0.85:
        verdict = "faded"
    else:
        verdict = "confirmed"
    when = t(lang, "alert.shock.pre_market" if a.extended_pre else "alert.shock.after_hours")
    return t(lang, f"alert.shock.extended_{verdict}", when=when, move=fmt_pct(ext, lang))


def _up(value: float | None) -> bool:
    return value is None or math.isnan(value) or value >= 0


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsShock)
    a = alert
    symbol = fmt_symbol(a.symbol)
    prices = {"open": fmt_price(a.open, lang), "prior_close": fmt_price(a.prior_close, lang)}
    if a.earnings and a.move_pct is not None:  # the day's move is the news; the gap is context
        way = "up" if _up(a.move_pct) else "down"
        headline = t(lang, f"alert.shock.earnings_{way}", symbol=symbol, move=headline_pct(a.move_pct, lang))
        lines = [headline, t(lang, "alert.shock.gap_line", gap=fmt_pct(a.gap_pct, lang), **prices)]
        if a.extended_pct is not None:
            lines.append(_extended_line(a, lang))
    else:  # the gap is what fired (always so in alerts stored before gaps had their own kind)
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
    else:
        lines += reported_lines(a.report_date, a.timing, lang)
    return lines + context_lines(a.symbol, a.move_pct, a.context, lang)
