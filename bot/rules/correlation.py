"""Correlation spikes: BTC's rolling correlation with a tech stock or the Nasdaq (QQQ) jumping.

Rule, on the first (shortest) window: a spike fires when the value crosses the
threshold (previous < threshold <= today: trigger "threshold"), or when it is at least
``jump`` above the lowest of the previous ``jump_sessions`` values (trigger "jump"; the
threshold wins when both hold). After a resolution, the jump is measured only from
values seen after it, so a fall that resolves a spike cannot re-fire it at once. An
active spike does not fire again; it resolves when the value falls below
threshold - band, or, for a jump spike, below the lower of that and (value at firing -
band). A None value neither fires nor resolves. Every new date updates the state, but
only the latest date may alert: the bot never alerts on stale facts. A resolution goes
only to the chats that were told of the spike.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Literal

from bot.domain import AlertBase, AlertKind, Bar, UtcTime, num
from bot.formatting import fmt_corr, fmt_date_range, fmt_symbol, fmt_window
from bot.i18n import Html, t
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.rules.correlation_stats import CorrelationSeries, aligned_returns, correlation_series
from bot.values import number

NAME = "correlation"
MUTE_GROUP = "correlation"
HISTORY = timedelta(days=400)
MAX_WINDOWS = 6
Trigger = Literal["threshold", "jump"]
_JUMP_TOLERANCE = 1e-12  # 0.7 - 0.3 is 0.39999999999999997 in floating point


@dataclass(frozen=True, slots=True, kw_only=True)
class _Correlation(AlertBase):
    """What both correlation alerts carry; the other side is always BTC."""

    symbol: str  # the equity or index
    time: UtcTime
    window: int  # trading days of the window that fired (21 = "30d")
    value: float
    previous: float | None  # the value one session earlier
    threshold: float
    jump: float
    windows: dict[str, float | None] = field(default_factory=dict)  # {"21": 0.74, "63": 0.52}
    start: date | None = None  # first and last dates of the returns in the window
    end: date | None = None

    @property
    def param(self) -> str:
        return f"{num(self.threshold)}/{num(self.jump)}/{self.window}"

    @property
    def period(self) -> str:
        return (self.end or self.time.astimezone(UTC).date()).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationSpike(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_spike"
    trigger: Literal["threshold", "jump"]
    change_10d: float | None  # value minus the lowest value of the last 10 sessions


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrelationResolved(_Correlation):
    kind: ClassVar[AlertKind] = "correlation_resolved"


KINDS = (CorrelationSpike, CorrelationResolved)
CorrelationAlert = CorrelationSpike | CorrelationResolved
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "corr",
        float,
        lambda text: number(text, low=0.05, high=1.0),
        default=lambda settings: settings.corr_threshold,
        label="setting.corr",
        help="set.help.corr",
        example="/set corr 0.8",
        aliases=("correlation", "threshold", "corr_threshold"),
    ),
    Setting(
        "jump",
        float,
        lambda text: number(text, low=0.05, high=2.0),
        default=lambda settings: settings.corr_jump,
        label="setting.jump",
        help="set.help.jump",
        example="/set jump 0.4",
        aliases=("corr_jump",),
    ),
)


@dataclass(frozen=True, slots=True)
class CorrelationParams:
    """One chat's rule settings; ``windows`` in trading days, sorted, the first one alerts."""

    threshold: float = 0.7
    jump: float = 0.4
    windows: tuple[int, ...] = (21, 63)
    jump_sessions: int = 10
    band: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0 < self.jump <= 2:
            raise ValueError(f"jump must be in (0, 2], got {self.jump}")
        if not 0 <= self.band <= 1:
            raise ValueError(f"band must be in [0, 1], got {self.band}")
        windows = tuple(self.windows)
        if not windows or any(isinstance(w, bool) or not isinstance(w, int) or w < 5 for w in windows):
            raise ValueError(f"windows must be whole numbers of trading days >= 5, got {self.windows}")
        sessions = self.jump_sessions
        if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
            raise ValueError(f"jump_sessions must be a whole number >= 1, got {self.jump_sessions}")
        object.__setattr__(self, "windows", tuple(sorted(set(windows))))

    @property
    def jump_floor(self) -> float:
        """A jump only counts once it lands at or above threshold − jump (0.3 by default):
        a rise from −0.36 to 0.04 is a big change, but not BTC trading with the name."""
        return self.threshold - self.jump

    @property
    def window(self) -> int:
        """The window the rule watches (the shortest, 21 = "30d")."""
        return self.windows[0]


@dataclass(frozen=True, slots=True)
class CorrelationState:
    """What the rule remembers per symbol and parameter set between evaluations."""

    last_date: date | None = None  # the last aligned date evaluated
    active: bool = False
    trigger: Trigger | None = None  # of the active spike
    fired_value: float | None = None
    fired_on: date | None = None
    resolved_on: date | None = None  # the last resolution; the jump looks back only after it


def evaluate_correlation(
    symbol: str,
    btc_daily: Sequence[Bar],
    equity_daily: Sequence[Bar],
    params: CorrelationParams,
    state: CorrelationState,
    now: datetime,
) -> tuple[CorrelationState, list[CorrelationAlert]]:
    """Run the rule over every aligned date after ``state.last_date``; only the latest may alert."""
    series = correlation_series(aligned_returns(btc_daily, equity_daily, now=now), params.windows)
    return apply_rule(symbol, series, params, state, now)


def apply_rule(
    symbol: str,
    series: CorrelationSeries,
    params: CorrelationParams,
    state: CorrelationState,
    now: datetime,
) -> tuple[CorrelationState, list[CorrelationAlert]]:
    """The rule on an already computed series (``evaluate_correlation`` without the prices)."""
    alerts: list[CorrelationAlert] = []
    last = len(series.dates) - 1
    for i, day in enumerate(series.dates):
        if state.last_date is not None and day <= state.last_date:
            continue
        state, alert = _step(symbol, series, i, params, state, now)
        state = replace(state, last_date=day)
        if alert is not None and i == last:
            alerts.append(alert)
    return state, alerts


def _step(
    symbol: str,
    series: CorrelationSeries,
    i: int,
    params: CorrelationParams,
    state: CorrelationState,
    now: datetime,
) -> tuple[CorrelationState, CorrelationAlert | None]:
    window, day = params.window, series.dates[i]
    values = series.values[window]
    value = values[i]
    if value is None:
        return state, None
    previous = values[i - 1] if i > 0 else None
    lookback = range(max(0, i - params.jump_sessions), i)
    earlier = [(series.dates[j], v) for j in lookback if (v := values[j]) is not None]
    change = value - min(v for _, v in earlier) if earlier else None
    common: dict[str, Any] = {
        "symbol": symbol,
        "time": now,
        "window": window,
        "value": value,
        "previous": previous,
        "threshold": params.threshold,
        "jump": params.jump,
        "start": series.start(i, window),
        "end": day,
        "windows": {str(w): series.values[w][i] for w in params.windows},
    }
    if state.active:
        level = params.threshold - params.band
        if state.trigger == "jump" and state.fired_value is not None:
            level = min(level, state.fired_value - params.band)
        if value >= level:
            return state, None
        resolved = replace(state, active=False, trigger=None, fired_value=None, fired_on=None)
        return replace(resolved, resolved_on=day), CorrelationResolved(**common)
    fresh = [v for d, v in earlier if state.resolved_on is None or d > state.resolved_on]
    trigger: Trigger | None = None
    if previous is not None and previous < params.threshold <= value:
        trigger = "threshold"
    elif fresh and value - min(fresh) >= params.jump - _JUMP_TOLERANCE and value >= params.jump_floor:
        trigger = "jump"
    if trigger is None:
        return state, None
    fired = replace(state, active=True, trigger=trigger, fired_value=value, fired_on=day)
    return fired, CorrelationSpike(trigger=trigger, change_10d=change, **common)


State = CorrelationState


@dataclass(frozen=True, slots=True)
class Levels:
    """A chat's correlation settings: the spike threshold and the jump."""

    threshold: float
    jump: float

    def __str__(self) -> str:
        return f"{num(self.threshold)}/{num(self.jump)}"


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    series: CorrelationSeries
    windows: tuple[int, ...]
    told: frozenset[int]  # the chats told of the latest spike with these settings


def params(values: Mapping[str, Any]) -> Levels:
    return Levels(float(values["corr"]), float(values["jump"]))


def scopes(tick: Tick) -> Iterable[str]:
    return tick.watchlist if tick.daily_bars() else ()


def inputs(view: MarketView, tick: Tick, scope: str, params: Levels) -> Inputs:
    since = tick.now - HISTORY
    windows = tuple(view.settings.corr_windows)
    returns = aligned_returns(view.daily("BTC", since), view.daily(scope, since), now=tick.now)
    spike_param = f"{params}/{windows[0]}"
    return Inputs(
        scope, correlation_series(returns, windows), windows, view.told("correlation_spike", scope, spike_param)
    )


def evaluate(
    inputs: Inputs, state: CorrelationState, params: Levels, now: datetime
) -> tuple[CorrelationState, list[Out]]:
    rule = CorrelationParams(params.threshold, params.jump, inputs.windows)
    state, alerts = apply_rule(inputs.symbol, inputs.series, rule, state, now)
    # A resolution only to those who were told of the spike.
    return state, [Out(a, inputs.told if isinstance(a, CorrelationResolved) else None) for a in alerts]


def _window_values(windows: dict[str, float | None], lang: str) -> str:
    def label(key: str) -> tuple[int, str]:
        key = str(key).strip()
        if re.fullmatch(r"[0-9]{1,5}", key):
            return int(key), fmt_window(int(key), lang)
        return 10**6, html.escape(fmt_symbol(key)[:12], quote=False)

    labelled = sorted(((label(key), value) for key, value in windows.items()), key=lambda item: item[0])[:MAX_WINDOWS]
    return " · ".join(f"{text} {fmt_corr(value)}" for (_, text), value in labelled)


def _context(a: CorrelationAlert, lang: str) -> list[str]:
    lines = []
    if len(a.windows) > 1 or (a.windows and str(a.window) not in a.windows):
        lines.append(t(lang, "alert.corr.windows", values=Html(_window_values(a.windows, lang))))
    if a.previous is not None:
        lines.append(t(lang, "alert.corr.previous", previous=fmt_corr(a.previous)))
    if a.start or a.end:
        lines.append(t(lang, "alert.corr.range", range=fmt_date_range(a.start, a.end, lang)))
    return lines


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, (CorrelationSpike, CorrelationResolved))
    values = {
        "symbol": fmt_symbol(alert.symbol),
        "value": fmt_corr(alert.value),
        "window": fmt_window(alert.window, lang),
    }
    if isinstance(alert, CorrelationResolved):
        lines = [
            t(lang, "alert.corr.resolved", **values),
            t(lang, "alert.corr.below", threshold=fmt_corr(alert.threshold)),
        ]
        return lines + _context(alert, lang)
    lines = [t(lang, "alert.corr.spike", **values)]
    if alert.trigger == "jump":
        if alert.change_10d is None:
            lines.append(t(lang, "alert.corr.jump_no_change", jump=fmt_corr(alert.jump)))
        else:
            lines.append(t(lang, "alert.corr.jump", change=fmt_corr(alert.change_10d), jump=fmt_corr(alert.jump)))
    elif alert.change_10d is None:
        lines.append(t(lang, "alert.corr.above", threshold=fmt_corr(alert.threshold)))
    else:
        change = fmt_corr(alert.change_10d, signed=True)
        lines.append(t(lang, "alert.corr.above_change", threshold=fmt_corr(alert.threshold), change=change))
    return lines + _context(alert, lang)
