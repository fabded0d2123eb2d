"""The correlation-spike rule: BTC against one equity or index, on daily log returns.

    returns = aligned_returns(btc_bars, nvda_bars)            # BTC's UTC day on NVDA's sessions
    rolling_correlation(returns, 21)                          # [(date, value or None), ...]
    state, alerts = evaluate_correlation("NVDA", btc_bars, nvda_bars, params, state, now)

Alignment: for each equity trading date D with a close, BTC's daily bar dated D
(its UTC day, closing 00:00 UTC on D+1). A date where either side has no bar (or no
positive close) is dropped, so that return spans the gap: a Monday's BTC return spans
the weekend, and a missing BTC day merges two equity sessions. With ``now``, only
dates whose BTC day has closed by ``now`` are used.

Correlation: Pearson over the last ``window`` aligned return pairs, computed two-pass
(mean-centred per window), equal to pandas ``Series.rolling(window).corr(other)``. A
window whose returns are constant on either side (to rounding: spread below 1e-10 of
their size) has no correlation: None. No NaN leaves this module.

Rule, on the first (shortest) window: a spike fires when the value crosses the
threshold (previous < threshold <= today: trigger "threshold"), or when it is at least
``jump`` above the lowest of the previous ``jump_sessions`` values (trigger "jump"; the
threshold wins when both hold). After a resolution, the jump is measured only from
values seen after it, so a fall that resolves a spike cannot re-fire it at once. An
active spike does not fire again; it resolves when the value falls below
threshold - band, or, for a jump spike, below the lower of that and (value at firing -
band). A None value neither fires nor resolves. Every new date updates the state, but
only the latest date may alert: the bot never alerts on stale facts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bot.domain import Bar, CorrelationResolved, CorrelationSpike

CorrelationAlert = CorrelationSpike | CorrelationResolved
Trigger = Literal["threshold", "jump"]
FLAT_TOLERANCE = 1e-10  # a spread below this fraction of the returns' size counts as flat
_JUMP_TOLERANCE = 1e-12  # 0.7 - 0.3 is 0.39999999999999997 in floating point


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


@dataclass(frozen=True, slots=True, eq=False)
class AlignedReturns:
    """Log returns between consecutive aligned dates; ``dates[i]`` is the date return ``i`` ends on."""

    dates: tuple[date, ...]
    btc: np.ndarray
    equity: np.ndarray


@dataclass(frozen=True, slots=True)
class CorrelationSeries:
    """Rolling correlation per window, one value (or None) per return date."""

    dates: tuple[date, ...]
    values: Mapping[int, tuple[float | None, ...]] = field(default_factory=dict)

    def start(self, index: int, window: int) -> date | None:
        """First return date of the ``window`` ending at ``index`` (None before it fills)."""
        return self.dates[index - window + 1] if index >= window - 1 else None


@dataclass(frozen=True, slots=True)
class CorrelationReading:
    """The latest correlation for ``/corr`` and the earnings-shock context."""

    window: int
    value: float
    start: date  # first and last dates of the returns in the window
    end: date
    earlier: float | None  # the value ``sessions_back`` sessions earlier


def _closes(bars: Sequence[Bar], until: date | None) -> dict[date, float]:
    closes: dict[date, float] = {}
    for bar in bars:
        if bar.interval != "1d":
            raise ValueError(f"expected daily bars, got a {bar.interval} bar of {bar.symbol}")
        day = bar.ts.astimezone(UTC).date()
        if (until is None or day < until) and math.isfinite(bar.close) and bar.close > 0:
            closes[day] = bar.close
    return closes


def aligned_returns(
    btc_daily: Sequence[Bar], equity_daily: Sequence[Bar], *, now: datetime | None = None
) -> AlignedReturns:
    """BTC and equity log returns on the equity's trading dates that BTC also has (see module doc)."""
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    until = now.astimezone(UTC).date() if now is not None else None  # BTC day D closes at D+1 00:00
    btc, equity = _closes(btc_daily, until), _closes(equity_daily, until)
    days = sorted(btc.keys() & equity.keys())
    b = np.array([btc[d] for d in days], dtype=float)
    e = np.array([equity[d] for d in days], dtype=float)
    btc_r, eq_r = np.log(b[1:] / b[:-1]), np.log(e[1:] / e[:-1])
    btc_r.flags.writeable = eq_r.flags.writeable = False
    return AlignedReturns(dates=tuple(days[1:]), btc=btc_r, equity=eq_r)


def _rolling(x: np.ndarray, y: np.ndarray, window: int) -> tuple[float | None, ...]:
    out: list[float | None] = [None] * min(len(x), window - 1)
    if len(x) < window:
        return tuple(out)
    xs, ys = sliding_window_view(x, window), sliding_window_view(y, window)
    cx = xs - xs.mean(axis=1, keepdims=True)
    cx -= cx.mean(axis=1, keepdims=True)  # one refinement step of the two-pass mean
    cy = ys - ys.mean(axis=1, keepdims=True)
    cy -= cy.mean(axis=1, keepdims=True)
    sxx, syy, sxy = (cx * cx).sum(axis=1), (cy * cy).sum(axis=1), (cx * cy).sum(axis=1)
    with np.errstate(all="ignore"):
        r = np.clip(sxy / (np.sqrt(sxx) * np.sqrt(syy)), -1.0, 1.0)
    flat_x = np.sqrt(sxx / window) <= FLAT_TOLERANCE * np.abs(xs).max(axis=1)
    flat_y = np.sqrt(syy / window) <= FLAT_TOLERANCE * np.abs(ys).max(axis=1)
    ok = ~(flat_x | flat_y) & np.isfinite(r)
    out.extend(float(v) if good else None for v, good in zip(r, ok, strict=True))
    return tuple(out)


def correlation_series(returns: AlignedReturns, windows: Sequence[int]) -> CorrelationSeries:
    """The rolling correlation of ``returns`` for each window."""
    if any(w < 2 for w in windows):
        raise ValueError(f"windows must be at least 2 returns, got {tuple(windows)}")
    values = {w: _rolling(returns.btc, returns.equity, w) for w in windows}
    return CorrelationSeries(dates=returns.dates, values=values)


def rolling_correlation(returns: AlignedReturns, window: int) -> list[tuple[date, float | None]]:
    """``(date, value or None)`` for every return date, for the ``/corr`` chart."""
    series = correlation_series(returns, (window,))
    return list(zip(series.dates, series.values[window], strict=True))


def current_correlation(
    btc_daily: Sequence[Bar],
    equity_daily: Sequence[Bar],
    window: int,
    *,
    now: datetime | None = None,
    sessions_back: int = 10,
) -> CorrelationReading | None:
    """The correlation on the latest aligned date, or None if it has no value (too little data, flat)."""
    series = correlation_series(aligned_returns(btc_daily, equity_daily, now=now), (window,))
    values, last = series.values[window], len(series.dates) - 1
    value = values[last] if last >= 0 else None
    start = series.start(last, window)
    if value is None or start is None:
        return None
    earlier = values[last - sessions_back] if last >= sessions_back else None
    return CorrelationReading(window, value, start, series.dates[last], earlier)


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
