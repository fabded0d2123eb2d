"""Earnings heads-up: a note the trading day before a watched tech name reports.

Stateless: a report's heads-up has one key (its report date), so it is decided once
however often the rule runs. A chat turns it off with ``/set heads-up off``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from bot.domain import NO_DIRECTION, AlertBase, AlertKind, EarningsDate, UtcTime
from bot.formatting import fmt_date, fmt_symbol, fmt_timing, fmt_weekday
from bot.i18n import t
from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, as_utc, assume_utc
from bot.rules.contract import MarketView, Out, Setting, Stateless, Tick
from bot.values import on_off

NAME = "earnings_upcoming"
MUTE_GROUP = "earnings"
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "heads-up",
        bool,
        on_off,
        default=lambda settings: True,
        label="setting.heads-up",
        help="set.help.heads-up",
        example="/set heads-up off",
        aliases=("headsup", "heads_up"),
        resettable=False,
    ),
)
State = Stateless


@dataclass(frozen=True, slots=True)
class EarningsUpcoming(AlertBase):
    kind: ClassVar[AlertKind] = "earnings_upcoming"
    symbol: str
    time: UtcTime
    report_date: date
    timing: str

    @property
    def param(self) -> str:
        return NO_DIRECTION

    @property
    def period(self) -> str:
        return self.report_date.isoformat()


KINDS = (EarningsUpcoming,)


def evaluate_heads_up(
    earnings: Sequence[EarningsDate],
    watchlist: Sequence[str],
    hours: MarketHours,
    now: datetime,
) -> list[EarningsUpcoming]:
    """Heads-ups for watched names that report on the next trading day, by report date and symbol.

    "Today" is ``now``'s date in New York; a report is due when its date D satisfies
    ``today < D <= next trading day after today`` (the same for every timing: a
    before-open report on D lands before D's open, an after-close one during D). So
    a Monday report is announced on Friday (and again over the weekend, with the
    same key), and a report the day after a holiday on the last session before it.
    """
    now = as_utc(now)
    today = now.astimezone(NEW_YORK).date()
    upcoming = hours.next_trading_day(today)
    watched = set(watchlist)
    due = sorted(
        (e for e in earnings if e.symbol in watched and today < e.report_date <= upcoming),
        key=lambda e: (e.report_date, e.symbol),
    )
    return [EarningsUpcoming(e.symbol, now, e.report_date, e.timing) for e in due]


@dataclass(frozen=True, slots=True)
class Inputs:
    earnings: tuple[EarningsDate, ...]
    watchlist: tuple[str, ...]
    hours: MarketHours


def params(values: Mapping[str, Any]) -> str | None:
    return "" if values["heads-up"] else None


def scopes(tick: Tick) -> Iterable[str]:
    return ("*",)


def inputs(view: MarketView, tick: Tick, scope: str, params: str) -> Inputs:
    today = tick.now.date()
    return Inputs(tuple(view.earnings(tick.watchlist, today - timedelta(days=1))), tick.watchlist, tick.hours)


def evaluate(inputs: Inputs, state: Stateless, params: str, now: datetime) -> tuple[Stateless, list[Out]]:
    try:
        alerts = evaluate_heads_up(inputs.earnings, inputs.watchlist, inputs.hours, now)
    except CalendarRangeError:
        return state, []
    return state, [Out(a) for a in alerts]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    """Today/tomorrow are New York dates: said only when the reader's calendar agrees, else the date is given."""
    assert isinstance(alert, EarningsUpcoming)
    a = alert
    try:
        today = assume_utc(a.time).astimezone(NEW_YORK).date()
        same_day = assume_utc(a.time).astimezone(tz).date() == today
    except (OverflowError, ValueError):
        today, same_day = a.report_date, False
    days = (a.report_date - today).days if same_day else None
    values = {"symbol": fmt_symbol(a.symbol), "timing": fmt_timing(lang, a.timing)}
    if days in (0, 1):
        key = "alert.upcoming.today" if days == 0 else "alert.upcoming.tomorrow"
        return [t(lang, key, date=fmt_date(a.report_date, lang), **values)]
    if days is not None and 2 <= days <= 6:
        weekday = fmt_weekday(a.report_date, lang)
        day = fmt_date(a.report_date, lang, weekday=False)
        return [t(lang, "alert.upcoming.weekday", weekday=weekday, date=day, **values)]
    return [t(lang, "alert.upcoming.date", date=fmt_date(a.report_date, lang, year=True), **values)]
