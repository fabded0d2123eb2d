"""The close of a report's first session, told in the report's thread.

When a report's first move was told (after hours or pre-market, :mod:`bot.rules.earnings_extended`)
or its gap at the open (:mod:`bot.rules.earnings_shock`), the session's close is told too, as a
reply to the first of those messages: how the day ended against the prior close, with the
market, the peers and BTC beside it. A chat then reads one thread per report: the first move,
the open, the close. A report-day reversal (:mod:`bot.rules.earnings_reversal`) is the close's
own story and is told instead. Nothing is told for a report no alert was about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, ClassVar

from bot.domain import NO_DIRECTION, AlertBase, AlertKey, AlertKind, num
from bot.formatting import fmt_pct, fmt_price, fmt_symbol, headline_pct
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules import earnings_shock
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.earnings_reversal import evaluate_reversal
from bot.rules.earnings_shock import ShockParams, report_session, shock_threshold
from bot.rules.session_news import SessionNews, context_lines, news_fields, reported_lines
from bot.values import Threshold

THREAD = ("earnings_extended", "earnings_shock")  # the kinds that open a report's thread, first first


@dataclass(frozen=True, slots=True)
class EarningsClose(SessionNews):
    """How a report's first session closed, in reply to the thread's first alert."""

    kind: ClassVar[AlertKind] = "earnings_close"
    report_date: date | None = None
    timing: str | None = None
    replies_to: str = "earnings_shock"  # the kind of the thread's first alert

    @property
    def follows(self) -> tuple[AlertKind, str] | None:
        return self.replies_to, self.session.isoformat()


KINDS = (EarningsClose,)
NAME = "earnings_close"
MUTE_GROUP = "earnings"
SETTINGS: tuple[Setting[Any], ...] = ()  # the thread is the earnings shock's: its threshold ("shock")
State = Stateless


@dataclass(frozen=True, slots=True)
class Inputs:
    session: earnings_shock.Inputs
    first: str | None = None  # the kind of the thread's first alert, if one was told
    threshold: float = 0.0
    sigma: float | None = None


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["shock"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    """Names whose session just closed (its daily bar arrived)."""
    return sorted({b.symbol for b in tick.daily_bars() if b.symbol in tick.watchlist})


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    base = earnings_shock.session_inputs(view, tick, scope)
    if base.prices is None or not base.prices.complete:
        return Inputs(base)
    threshold, sigma = shock_threshold(base.closes_before, ShockParams(params.value))
    period = base.prices.session.isoformat()
    keys = {kind: AlertKey(kind, scope, num(threshold), NO_DIRECTION, period) for kind in THREAD}
    first = next((kind for kind, key in keys.items() if view.decided(key)), None)
    return Inputs(base, first, threshold, sigma)


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    base = inputs.session
    if inputs.first is None or base.prices is None or base.hours is None:
        return state, []
    if evaluate_reversal(base, now) is not None:
        return state, []  # the reversal tells how the day ended
    report = report_session(base.prices, base.earnings, base.hours)
    if report is None:
        return state, []
    alert = EarningsClose(
        time=as_utc(now),
        **news_fields(base.prices, base.context, inputs.threshold, inputs.sigma),
        report_date=report.report_date,
        timing=report.timing,
        replies_to=inputs.first,
    )
    return state, [Out(alert)]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsClose)
    a = alert
    move = a.move_pct if a.move_pct is not None else 0.0
    lines = [
        t(lang, "alert.close.head", symbol=fmt_symbol(a.symbol), move=headline_pct(move, lang)),
        t(
            lang,
            "alert.close.prices",
            open=fmt_price(a.open, lang),
            gap=fmt_pct(a.gap_pct, lang),
            price=fmt_price(a.price, lang),
            prior_close=fmt_price(a.prior_close, lang),
        ),
    ]
    return lines + reported_lines(a.report_date, a.timing, lang) + context_lines(a.symbol, a.move_pct, a.context, lang)
