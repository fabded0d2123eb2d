"""Gaps without a report: a name opening far from its previous close on a session with no
earnings report on the calendar (a deal, a downgrade, a market-wide shock).

It fires when the opening gap reaches the chat's shock threshold, ``min(shock %, 3σ)``
(see :mod:`bot.rules.earnings_shock`), once per name and session, as soon as the
session's first price is known; the message never says "after earnings". A gap on
the first session after a report is an earnings shock instead. Stateless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind
from bot.formatting import fmt_pct, fmt_price, fmt_symbol, headline_pct
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules import earnings_shock
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.rules.earnings_shock import Inputs, ShockParams, report_session, shock_threshold
from bot.rules.session_news import SessionNews, context_lines, news_fields
from bot.values import Threshold


@dataclass(frozen=True, slots=True)
class Gap(SessionNews):
    """An opening gap past the threshold on a session without a report."""

    kind: ClassVar[AlertKind] = "gap"


KINDS = (Gap,)
NAME = "gap"
MUTE_GROUP = "move"
SETTINGS: tuple[Setting[Any], ...] = ()  # judged by the chat's ``shock`` setting
State = Stateless


def evaluate_gap(inputs: Inputs, params: ShockParams, now: datetime) -> Gap | None:
    """A :class:`Gap` if the session opened at least the threshold away from the previous
    close and no report is on the calendar for it."""
    prices, hours = inputs.prices, inputs.hours
    if prices is None or hours is None or report_session(prices, inputs.earnings, hours) is not None:
        return None
    threshold, sigma = shock_threshold(inputs.closes_before, params)
    if abs(prices.gap_pct) < threshold:
        return None
    return Gap(time=as_utc(now), **news_fields(prices, inputs.context, threshold, sigma))


def params(values: Mapping[str, Any]) -> Threshold:
    return earnings_shock.params(values)


def scopes(tick: Tick) -> Iterable[str]:
    return earnings_shock.scopes(tick)


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    return earnings_shock.session_inputs(view, tick, scope)


def evaluate(inputs: Inputs, state: Stateless, params: Threshold, now: datetime) -> tuple[Stateless, list[Out]]:
    alert = evaluate_gap(inputs, ShockParams(params.value), now)
    return state, [] if alert is None else [Out(alert)]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, Gap)
    a = alert
    way = "down" if a.gap_pct < 0 else "up"
    lines = [
        t(lang, f"alert.shock.gap_{way}", symbol=fmt_symbol(a.symbol), move=headline_pct(a.gap_pct, lang)),
        t(lang, "alert.shock.open_line", open=fmt_price(a.open, lang), prior_close=fmt_price(a.prior_close, lang)),
    ]
    if a.move_pct is not None:
        lines.append(t(lang, "alert.shock.move_line", price=fmt_price(a.price, lang), move=fmt_pct(a.move_pct, lang)))
    lines.append(t(lang, "alert.shock.no_report"))
    return lines + context_lines(a.symbol, a.move_pct, a.context, lang)
