"""Correlation changes: BTC moving with a tech stock or the Nasdaq (QQQ) more, or less, than usual.

The statistics are in :mod:`bot.rules.correlation_change`: on synchronous daily returns (BTC
priced at the NYSE close, :func:`~bot.rules.correlation_stats.synchronous_returns`), scaled
robustly, the correlation of the last 20 sessions is compared with that of the 100 sessions
before them; z is their Fisher-z difference in standard errors (corrected for fat tails).

Rule, per symbol and per chat threshold (``/set corr``, default 3.1): an episode opens when
|z| ≥ the threshold (a rise: "moves with NVDA more than usual"; a fall: "decoupled") and
closes when |z| < 1 ("back to its usual correlation"). One alert per opening, one per closing,
the closing only to the chats that were told of the opening. No verdict before 120 returns; a
date without one (a flat side) neither opens nor closes. Every new date moves the state on,
but only the latest NYSE session may alert, and only while both series are fresh.

Both directions alert: a decoupling (BTC no longer trading as a piece of the tech trade) is
as much news to someone holding both as a coupling, and the two-sided test still keeps false
alarms near 0.3 per symbol-year (README, measured on the 2025 return pairs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar, Literal

import numpy as np

from bot.domain import AlertBase, AlertKind, Bar, UtcTime, num
from bot.formatting import fmt_corr, fmt_date_range, fmt_sigmas, fmt_symbol
from bot.i18n import t, tn
from bot.markettime import CalendarRangeError, MarketHours
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.rules.correlation_change import BASELINE, RECENT, SPAN, ChangeTest, change_test, interval
from bot.rules.correlation_stats import AlignedReturns, regular_close, synchronous_returns
from bot.values import BadArgument, number
from bot.values import Threshold as Sigmas

NAME = "correlation"
MUTE_GROUP = "correlation"
HISTORY = timedelta(days=250)  # about 170 sessions: the 121 a verdict needs, and 50 more for a catch-up
Z_RANGE = (2.0, 6.0)
CLOSE_Z = 1.0  # an episode closes once |z| is below this
BTC = "BTC"
DAY = timedelta(days=1)
Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The test on one session: the two robust correlations, κ, z, and the windows' dates."""

    day: date
    z: float
    recent: float  # the last RECENT sessions
    usual: float  # the BASELINE sessions before them
    kappa: float
    start: date  # the first return dates of the recent and the usual window
    usual_start: date
    usual_end: date
    at_close: int  # sessions of the recent window with BTC priced at the NYSE close

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The 95 % confidence intervals of the recent and the usual correlation."""
        return interval(self.recent, RECENT, self.kappa), interval(self.usual, BASELINE, self.kappa)


@dataclass(frozen=True, slots=True, eq=False)
class Verdicts:
    """The test on every return date: ``at(i)`` is the verdict on ``dates[i]`` (None before SPAN
    returns, or where a side is flat)."""

    dates: tuple[date, ...]
    test: ChangeTest
    at_close: np.ndarray  # per date: sessions of its recent window with BTC at the NYSE close

    @classmethod
    def of(cls, returns: AlignedReturns) -> Verdicts:
        test = change_test(np.asarray(returns.btc), np.asarray(returns.equity))
        synced = np.zeros(len(returns.dates)) if returns.at_close is None else returns.at_close.astype(float)
        counts = np.concatenate(([0.0], np.cumsum(synced)))
        in_window = counts[1:] - counts[np.maximum(np.arange(1, len(synced) + 1) - RECENT, 0)]
        return cls(returns.dates, test, in_window)

    def at(self, i: int) -> Verdict | None:
        t = self.test
        values = (float(t.z[i]), float(t.recent[i]), float(t.usual[i]), float(t.kappa[i]))
        if i < SPAN - 1 or not all(np.isfinite(values)):
            return None
        dates = self.dates
        return Verdict(
            dates[i], *values, dates[i - RECENT + 1], dates[i - SPAN + 1], dates[i - RECENT], int(self.at_close[i])
        )

    def latest(self) -> Verdict | None:
        return self.at(len(self.dates) - 1) if self.dates else None


def session_closes(hours: MarketHours | None) -> Callable[[date], datetime]:
    """When each session closed by ``hours`` (16:00 New York where it cannot say)."""

    @functools.cache
    def close(day: date) -> datetime:
        try:
            session = hours.session(day) if hours is not None else None
        except CalendarRangeError:
            session = None
        return session.close if session is not None else regular_close(day)

    return close


def latest_verdict(
    btc_daily: Sequence[Bar],
    btc_hourly: Sequence[Bar],
    equity_daily: Sequence[Bar],
    now: datetime,
    hours: MarketHours | None = None,
) -> Verdict | None:
    """The test on the latest session with data (for ``/corr``); None with too little data."""
    returns = synchronous_returns(btc_daily, btc_hourly, equity_daily, now=now, session_close=session_closes(hours))
    return Verdicts.of(returns).latest()


# -- alerts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Correlation(AlertBase):
    """What both alerts carry; the other side is always BTC."""

    symbol: str  # the equity or index
    time: UtcTime
    direction: Direction  # of the change that opened the episode
    threshold: float  # |z| that opens an episode for these chats
    z: float
    window: int = RECENT  # sessions of the recent window (the chart shows this rolling window)
    baseline: int = BASELINE
    value: float  # robust correlation over the recent window, with its 95 % interval
    low: float
    high: float
    usual: float  # over the baseline window before it
    usual_low: float
    usual_high: float
    kappa: float = 1.0
    start: date | None = None  # first and last return dates of the recent window
    end: date | None = None
    usual_start: date | None = None
    usual_end: date | None = None
    at_close: int = 0  # sessions of the recent window with BTC at the NYSE close

    @property
    def param(self) -> str:
        return spike_param(self.threshold)

    @property
    def period(self) -> str:
        return (self.end or self.time.astimezone(UTC).date()).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationSpike(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_spike"


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationResolved(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_resolved"


KINDS = (CorrelationSpike, CorrelationResolved)
CorrelationAlert = CorrelationSpike | CorrelationResolved


def spike_param(threshold: float) -> str:
    return f"{num(threshold)}/{RECENT}/{BASELINE}"


# -- the setting ------------------------------------------------------------------------------

_SIGMA_SUFFIXES = ("sigmas", "sigma", "σ", "se", "sd", "s")


def sigmas(text: str) -> Sigmas:
    """``3.1``, ``3.1σ``, ``3.1 sigma``: the standard errors a change must reach, 2 to 6."""
    raw = text.strip().lower().replace(" ", "")
    for suffix in _SIGMA_SUFFIXES:
        if raw.endswith(suffix) and raw[: -len(suffix)]:
            raw = raw[: -len(suffix)]
            break
    try:
        return Sigmas(number(raw, low=Z_RANGE[0], high=Z_RANGE[1]), "σ")
    except BadArgument as error:
        error.values["text"] = text[:30]
        raise


SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "corr",
        # Stored as {"value": 3.1, "unit": "σ"}: the bare 0.7 of the old correlation threshold
        # cannot be read as one, so such a chat gets the default.
        Sigmas,
        sigmas,
        default=lambda settings: Sigmas(settings.corr_change_z, "σ"),
        label="setting.corr_z",
        help="set.help.corr_z",
        example="/set corr 3.5",
        aliases=("correlation", "threshold", "corr_threshold", "corr_z"),
    ),
)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A chat's rule parameter: |z| that opens an episode."""

    z: float

    def __str__(self) -> str:
        return num(self.z)


@dataclass(frozen=True, slots=True)
class CorrelationState:
    """What the rule remembers per symbol and threshold between evaluations."""

    last_date: date | None = None  # the last date evaluated
    active: Direction | None = None  # the direction of the open episode
    opened_on: date | None = None


State = CorrelationState


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    verdicts: Verdicts
    latest: date | None  # the latest closed NYSE session: only it may alert (None: any last date)
    fresh: bool  # both series fresh (stale or missing data never alerts)
    told: frozenset[int]  # the chats told of the latest opening with this threshold


def apply_rule(
    inputs: Inputs, state: CorrelationState, threshold: float, now: datetime
) -> tuple[CorrelationState, list[CorrelationAlert]]:
    """Every date after ``state.last_date`` moves the state on; only the latest session may alert."""
    alerts: list[CorrelationAlert] = []
    last = len(inputs.verdicts.dates) - 1
    for i, day in enumerate(inputs.verdicts.dates):
        if state.last_date is not None and day <= state.last_date:
            continue
        state, alert = _step(inputs.symbol, inputs.verdicts.at(i), state, threshold, now)
        state = replace(state, last_date=day)
        current = inputs.latest is None or day == inputs.latest
        if alert is not None and i == last and current and inputs.fresh:
            alerts.append(alert)
    return state, alerts


def history(verdicts: Verdicts, threshold: float) -> list[CorrelationAlert]:
    """Every alert the rule decides walking ``verdicts`` one date at a time, each date alerting as
    it would have as the latest (for measuring the rule; stamped at BTC's close after the date)."""
    state, alerts = CorrelationState(), []
    for i, day in enumerate(verdicts.dates):
        state, alert = _step("-", verdicts.at(i), state, threshold, datetime.combine(day + DAY, time(0), UTC))
        if alert is not None:
            alerts.append(alert)
    return alerts


def _step(
    symbol: str, verdict: Verdict | None, state: CorrelationState, threshold: float, now: datetime
) -> tuple[CorrelationState, CorrelationAlert | None]:
    if verdict is None:
        return state, None
    if state.active is not None:
        if abs(verdict.z) >= CLOSE_Z:
            return state, None
        closed = _alert(CorrelationResolved, symbol, verdict, state.active, threshold, now)
        return replace(state, active=None, opened_on=None), closed
    if abs(verdict.z) < threshold:
        return state, None
    direction: Direction = "up" if verdict.z > 0 else "down"
    opened = _alert(CorrelationSpike, symbol, verdict, direction, threshold, now)
    return replace(state, active=direction, opened_on=verdict.day), opened


def _alert(
    cls: type[CorrelationAlert], symbol: str, v: Verdict, direction: Direction, threshold: float, now: datetime
) -> CorrelationAlert:
    (low, high), (usual_low, usual_high) = v.bounds()
    return cls(
        symbol=symbol,
        time=now,
        direction=direction,
        threshold=threshold,
        z=v.z,
        value=v.recent,
        low=low,
        high=high,
        usual=v.usual,
        usual_low=usual_low,
        usual_high=usual_high,
        kappa=v.kappa,
        start=v.start,
        end=v.day,
        usual_start=v.usual_start,
        usual_end=v.usual_end,
        at_close=v.at_close,
    )


# -- the contract -----------------------------------------------------------------------------


def params(values: Mapping[str, Any]) -> Threshold:
    chosen = values["corr"]
    z = chosen.value if isinstance(chosen, Sigmas) else float(chosen)
    return Threshold(min(max(z, Z_RANGE[0]), Z_RANGE[1]))


def scopes(tick: Tick) -> Iterable[str]:
    return tick.watchlist if tick.daily_bars() else ()


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    since = tick.now - HISTORY

    def verdicts() -> Verdicts:
        returns = synchronous_returns(
            view.daily(BTC, since),
            view.hourly(BTC, since),
            view.daily(scope, since),
            now=tick.now,
            session_close=view.memo("session_closes", lambda: session_closes(tick.hours)),
        )
        return Verdicts.of(returns)

    try:
        latest: date | None = tick.hours.last_closed_session(tick.now).day
        fresh = tick.fresh(BTC) and tick.fresh(scope)
    except CalendarRangeError:
        latest, fresh = None, False
    told = view.told("correlation_spike", scope, spike_param(params.z))
    return Inputs(scope, view.memo(("correlation", scope), verdicts), latest, fresh, told)


def evaluate(
    inputs: Inputs, state: CorrelationState, params: Threshold, now: datetime
) -> tuple[CorrelationState, list[Out]]:
    state, alerts = apply_rule(inputs, state, params.z, now)
    # A closing only to those who were told of the opening.
    return state, [Out(a, inputs.told if isinstance(a, CorrelationResolved) else None) for a in alerts]


# -- what a chat reads ------------------------------------------------------------------------


def values_line(
    lang: str, recent: float, recent_ci: tuple[float, float], usual: float, usual_ci: tuple[float, float]
) -> str:
    """``Correlation 0.78 (95 % CI 0.52–0.91) vs usual 0.21 (0.02–0.38)`` (also in ``/corr``)."""
    numbers = {"value": recent, "low": recent_ci[0], "high": recent_ci[1]}
    numbers |= {"usual": usual, "usual_low": usual_ci[0], "usual_high": usual_ci[1]}
    return t(lang, "alert.corr.values", **{name: fmt_corr(x, lang=lang) for name, x in numbers.items()})


def _windows_line(lang: str, a: _Correlation) -> str:
    recent = fmt_date_range(a.start, a.end, lang)
    return tn(lang, "alert.corr.sessions", a.window, range=recent, baseline=a.baseline)


def _sync_line(lang: str, a: _Correlation) -> str:
    if a.at_close >= a.window:
        return t(lang, "alert.corr.sync_all")
    if a.at_close <= 0:
        return t(lang, "alert.corr.sync_none")
    return t(lang, "alert.corr.sync_part", count=a.at_close, total=a.window)


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, (CorrelationSpike, CorrelationResolved))
    symbol = fmt_symbol(alert.symbol)
    z, threshold = fmt_sigmas(alert.z, lang), fmt_sigmas(alert.threshold, lang)
    if isinstance(alert, CorrelationResolved):
        head = t(lang, "alert.corr.back", symbol=symbol)
        change = t(lang, "alert.corr.z_back", z=z, close=fmt_sigmas(CLOSE_Z, lang))
    else:
        head = t(lang, "alert.corr.rise" if alert.direction == "up" else "alert.corr.fall", symbol=symbol)
        change = t(lang, "alert.corr.z", z=z, threshold=threshold)
    values = values_line(lang, alert.value, (alert.low, alert.high), alert.usual, (alert.usual_low, alert.usual_high))
    return [head, values, change, _windows_line(lang, alert), _sync_line(lang, alert)]
