"""Correlation of BTC with one equity or index, on daily log returns (pure arithmetic).

    returns = aligned_returns(btc_bars, nvda_bars)            # BTC's UTC day on NVDA's sessions
    rolling_correlation(returns, 21)                          # [(date, value or None), ...]
    current_correlation(btc_bars, nvda_bars, 21)              # the latest value, for /corr

Alignment: for each equity trading date D with a close, BTC's daily bar dated D
(its UTC day, closing 00:00 UTC on D+1). A date where either side has no bar (or no
positive close) is dropped, so that return spans the gap: a Monday's BTC return spans
the weekend, and a missing BTC day merges two equity sessions. With ``now``, only
dates whose BTC day has closed by ``now`` are used.

Correlation: Pearson over the last ``window`` aligned return pairs, computed two-pass
(mean-centred per window), equal to pandas ``Series.rolling(window).corr(other)``. A
window whose returns are constant on either side (to rounding: spread below 1e-10 of
their size) has no correlation: None. No NaN leaves this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bot.domain import Bar

FLAT_TOLERANCE = 1e-10  # a spread below this fraction of the returns' size counts as flat


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
