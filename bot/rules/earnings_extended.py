"""Earnings the minute they land: a watched name that moves past its shock threshold in the
after-hours or pre-market trading that follows its report, told at once.

Most tech names report after the close and move within minutes in after-hours trading; BTC,
the one market open all night, reacts in the same hours. This rule judges each extended-hours
price of a name with a report on the calendar, from the report until the next regular open:

* after the close on D (or at an unknown time): from D's close (16:00 New York);
* before the open on D: from 04:00 New York on D, when pre-market trading starts.

The move is measured against the last regular close before the report and judged by the
chat's shock threshold, as the next session's gap will be (``min(shock, 3σ)``, see
:mod:`bot.rules.earnings_shock`). BTC's move since the report time goes beside it. Once per
name, report and threshold: the session's own shock alert at the open, and a reversal at the
close, follow it as replies (their ``follows``), so a chat reads one thread per report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, EarningsDate, UtcTime, num
from bot.formatting import fmt_clock, fmt_date, fmt_pct, fmt_price, fmt_symbol, headline_pct
from bot.i18n import t
from bot.markettime import NEW_YORK
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.earnings_shock import ShockParams, report_window, shock_threshold
from bot.rules.session_news import reported_lines
from bot.rules.sessions import closes_before_session, intraday_move, open_session, pct
from bot.values import Threshold

HISTORY = timedelta(days=120)
BTC = "BTC"


@dataclass(frozen=True, slots=True)
class EarningsExtended(AlertBase):
    """A report's first move, in the extended hours before the session that will trade it."""

    kind: ClassVar[AlertKind] = "earnings_extended"
    symbol: str
    time: UtcTime
    session: date  # the first regular session after the report
    since: UtcTime  # when the report's window opened: the close, or 04:00 before the open
    prior_close: float
    price: float
    move_pct: float
    threshold_pct: float
    report_date: date
    timing: str
    sigma_pct: float | None = None
    btc_move_pct: float | None = None  # since ``since``

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def period(self) -> str:
        return self.session.isoformat()

    @property
    def pre_market(self) -> bool:
        return self.timing == "before_open"


KINDS = (EarningsExtended,)
NAME = "earnings_extended"
MUTE_GROUP = "earnings"
SETTINGS: tuple[Setting[Any], ...] = ()  # judged by the earnings shock's own threshold ("shock")
State = Stateless


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    report: EarningsDate | None = None
    session: date | None = None
    since: datetime | None = None
    at: datetime | None = None  # the newest price's time
    price: float | None = None
    prior_close: float | None = None
    closes_before: tuple[float, ...] = ()
    btc_move_pct: float | None = None


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["shock"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    """Watched names priced while no regular session runs."""
    if open_session(tick) is not None:
        return []
    return sorted({q.symbol for q in tick.quotes if q.symbol in tick.watchlist and tick.fresh(q.symbol)})


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    quote = max((q for q in tick.quotes if q.symbol == scope), key=lambda q: q.ts)
    today = tick.now.astimezone(NEW_YORK).date()
    for report in sorted(view.earnings([scope], today - timedelta(days=7)), key=lambda e: e.report_date, reverse=True):
        w = report_window(report, tick.hours)
        if w is None or not (w.since <= quote.ts < w.until and w.since <= tick.now < w.until):
            continue
        daily = [b for b in view.daily(scope, tick.now - HISTORY) if b.ts.date() < w.session]
        prior = view.intraday(scope, w.closed - timedelta(hours=1), w.closed)  # the regular close, by the minute
        prior_close = prior[-1][1] if prior else daily[-1].close if daily else None
        btc = intraday_move(view, BTC, w.since, tick.now) if BTC in tick.crypto and tick.fresh(BTC) else None
        return Inputs(
            scope, report, w.session, w.since, quote.ts, quote.price, prior_close,
            tuple(closes_before_session(daily, w.session)), btc.move_pct if btc else None,
        )  # fmt: skip
    return Inputs(scope)


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    i = inputs
    if i.report is None or i.session is None or i.since is None or i.price is None or not i.prior_close:
        return state, []
    threshold, sigma = shock_threshold(i.closes_before, ShockParams(params.value))
    move = pct(i.price, i.prior_close)
    if abs(move) < threshold:
        return state, []
    alert = EarningsExtended(
        i.symbol, now, i.session, i.since, i.prior_close, i.price, move, threshold,
        i.report.report_date, i.report.timing, sigma, i.btc_move_pct,
    )  # fmt: skip
    return state, [Out(alert)]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsExtended)
    a = alert
    when = "pre_market" if a.pre_market else "after_hours"
    way = "up" if a.move_pct >= 0 else "down"
    lines = [
        t(lang, f"alert.extended.{when}_{way}", symbol=fmt_symbol(a.symbol), move=headline_pct(a.move_pct, lang)),
        t(lang, "alert.extended.prices", price=fmt_price(a.price, lang), prior_close=fmt_price(a.prior_close, lang)),
        *reported_lines(a.report_date, a.timing, lang),
    ]
    if a.btc_move_pct is not None:
        since = fmt_clock(a.since, tz, lang)
        lines.append(t(lang, "alert.extended.btc", move=fmt_pct(a.btc_move_pct, lang), since=since))
    lines.append(t(lang, "alert.extended.next", day=fmt_date(a.session, lang)))
    return lines
