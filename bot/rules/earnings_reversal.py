"""Report-day reversals: a name that gaps on its earnings and then trades back through the
previous close, as NVDA did on 20 Nov 2025 (opened +5.1 % after its report, closed −3.2 %).

On the first session after a report, it fires when the opening gap was at least
:data:`GAP_SIGMAS` σ one way and the move since the previous close (the close, or the
latest price while the session runs) is at least :data:`MOVE_SIGMAS` σ the other way,
σ being the name's standard deviation of its last 60 daily returns (with fewer than 20,
:data:`GAP_PCT` and :data:`MOVE_PCT` instead). Once per name and session. By this rule,
NVDA's 20 Nov is the only such session of any shipped name in 2025, report day or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind
from bot.formatting import fmt_pct, fmt_price, fmt_symbol
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules import earnings_shock
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.earnings_shock import Inputs, report_session
from bot.rules.session_news import SessionNews, context_lines, news_fields, reported_lines
from bot.rules.sessions import daily_sigma

GAP_SIGMAS = 2.0
MOVE_SIGMAS = 1.0
GAP_PCT = 4.0  # while σ is not known
MOVE_PCT = 2.0


@dataclass(frozen=True, slots=True)
class EarningsReversal(SessionNews):
    """A report-day gap one way and a move through the previous close the other way."""

    kind: ClassVar[AlertKind] = "earnings_reversal"
    report_date: date | None = None
    timing: str | None = None
    complete: bool = True  # the session had closed

    @property
    def follows(self) -> tuple[AlertKind, str] | None:
        return "earnings_shock", self.session.isoformat()  # the shock of the same report session


KINDS = (EarningsReversal,)
NAME = "earnings_reversal"
MUTE_GROUP = "earnings"
SETTINGS: tuple[Setting[Any], ...] = ()
State = Stateless


def evaluate_reversal(inputs: Inputs, now: datetime) -> EarningsReversal | None:
    prices, hours = inputs.prices, inputs.hours
    if prices is None or hours is None:
        return None
    report = report_session(prices, inputs.earnings, hours)
    if report is None:
        return None
    sigma = daily_sigma(inputs.closes_before)
    gap_at, move_at = (GAP_SIGMAS * sigma, MOVE_SIGMAS * sigma) if sigma else (GAP_PCT, MOVE_PCT)
    gap, move = prices.gap_pct, prices.move_pct
    if not (abs(gap) >= gap_at and abs(move) >= move_at and (gap > 0) != (move > 0)):
        return None
    return EarningsReversal(
        time=as_utc(now),
        **news_fields(prices, inputs.context, move_at, sigma),
        report_date=report.report_date,
        timing=report.timing,
        complete=prices.complete,
    )


def params(values: Mapping[str, Any]) -> str:
    return "reversal"  # the same for every chat


def scopes(tick: Tick) -> Iterable[str]:
    return earnings_shock.scopes(tick)


def inputs(view: MarketView, tick: Tick, scope: str, params: str) -> Inputs:
    return earnings_shock.session_inputs(view, tick, scope)


def evaluate(inputs: Inputs, state: Stateless, params: str, now: datetime) -> tuple[Stateless, list[Out]]:
    alert = evaluate_reversal(inputs, now)
    return state, [] if alert is None else [Out(alert)]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, EarningsReversal)
    a = alert
    key = "alert.reversal.closed" if a.complete else "alert.reversal.now"
    lines = [
        t(lang, key, symbol=fmt_symbol(a.symbol), gap=fmt_pct(a.gap_pct, lang), move=fmt_pct(a.move_pct, lang)),
        t(
            lang,
            "alert.reversal.prices" if a.complete else "alert.reversal.prices_now",
            open=fmt_price(a.open, lang),
            price=fmt_price(a.price, lang),
            prior_close=fmt_price(a.prior_close, lang),
        ),
    ]
    return lines + reported_lines(a.report_date, a.timing, lang) + context_lines(a.symbol, a.move_pct, a.context, lang)
