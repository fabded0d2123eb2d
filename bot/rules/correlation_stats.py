"""Correlation of BTC with one equity or index, on daily log returns (pure arithmetic).

    returns = aligned_returns(btc_bars, nvda_bars)            # BTC's UTC day on NVDA's sessions
    returns = synchronous_returns(btc_daily, btc_hourly, nvda_bars, now=now)   # BTC at NVDA's closes
    rolling_correlation(returns, 21)                          # [(date, value or None), ...]
    current_correlation(btc_bars, nvda_bars, 21)              # the latest value and its 95 % CI, for /corr

Alignment: for each equity trading date D with a close, BTC's daily bar dated D
(its UTC day, closing 00:00 UTC on D+1). A date where either side has no bar (or no
positive close) is dropped, so that return spans the gap: a Monday's BTC return spans
the weekend, and a missing BTC day merges two equity sessions. With ``now``, only
dates whose BTC day has closed by ``now`` are used.

Synchronous alignment (:func:`synchronous_returns`, for the correlation-change rule): BTC's
price at each session's NYSE close (16:00 New York, earlier on half days), from the last
hourly BTC bar that closed at or before it and at most ``SYNC_SLACK`` (2 h) earlier; on a
session without such a bar, BTC's daily close (its UTC day, 3 to 4 hours after the NYSE
close). A session counts once it has closed and its BTC price is known by ``now``.

Correlation: Pearson over the last ``window`` aligned return pairs, computed two-pass
(mean-centred per window), equal to pandas ``Series.rolling(window).corr(other)``. A
window whose returns are constant on either side (to rounding: spread below 1e-10 of
their size) has no correlation: None. No NaN leaves this module.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bot.domain import Bar
from bot.markettime import NEW_YORK, REGULAR_CLOSE
from bot.rules.correlation_change import interval, kappa

FLAT_TOLERANCE = 1e-10  # a spread below this fraction of the returns' size counts as flat
SYNC_SLACK = timedelta(hours=2)  # an hourly BTC close this long before a session's close still stands for it
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True, eq=False)
class AlignedReturns:
    """Log returns between consecutive aligned dates; ``dates[i]`` is the date return ``i`` ends on."""

    dates: tuple[date, ...]
    btc: np.ndarray
    equity: np.ndarray
    at_close: np.ndarray | None = None  # synchronous alignment: whether BTC's price of ``dates[i]`` is at the close


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
    low: float | None = None  # its 95 % confidence interval (Fisher z, corrected for fat tails)
    high: float | None = None


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


def regular_close(day: date) -> datetime:
    """16:00 New York time on ``day`` (a session's close when no calendar says otherwise)."""
    return datetime.combine(day, REGULAR_CLOSE, NEW_YORK).astimezone(UTC)


def synchronous_returns(
    btc_daily: Sequence[Bar],
    btc_hourly: Sequence[Bar],
    equity_daily: Sequence[Bar],
    *,
    now: datetime,
    session_close: Callable[[date], datetime] = regular_close,
) -> AlignedReturns:
    """BTC and equity log returns between consecutive sessions, BTC priced at each session's close
    when an hourly bar allows it (see the module doc); ``at_close`` says which dates it did.
    ``btc_hourly`` is oldest first, as the store gives it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    daily = _closes(btc_daily, None)
    equity = _closes(equity_daily, None)
    starts = [bar.ts for bar in btc_hourly]
    days, btc_prices, eq_prices, synced = [], [], [], []
    for day in sorted(equity):
        close = session_close(day)
        if close > now:
            continue
        i = bisect.bisect_right(starts, close - HOUR) - 1  # the last bar closed by then
        bar = btc_hourly[i] if i >= 0 else None
        if bar is not None and bar.ts + HOUR >= close - SYNC_SLACK and math.isfinite(bar.close) and bar.close > 0:
            price, at_close = bar.close, True
        elif day in daily and datetime.combine(day, time(0), UTC) + DAY <= now:
            price, at_close = daily[day], False
        else:
            continue
        days.append(day)
        btc_prices.append(price)
        eq_prices.append(equity[day])
        synced.append(at_close)
    b, e = np.array(btc_prices, dtype=float), np.array(eq_prices, dtype=float)
    btc_r, eq_r = np.log(b[1:] / b[:-1]), np.log(e[1:] / e[:-1])
    at = np.array(synced[1:], dtype=bool)
    for array in (btc_r, eq_r, at):
        array.flags.writeable = False
    return AlignedReturns(dates=tuple(days[1:]), btc=btc_r, equity=eq_r, at_close=at)


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
    """The correlation on the latest aligned date and its 95 % confidence interval, or None if it
    has no value (too little data, flat)."""
    returns = aligned_returns(btc_daily, equity_daily, now=now)
    series = correlation_series(returns, (window,))
    values, last = series.values[window], len(series.dates) - 1
    value = values[last] if last >= 0 else None
    start = series.start(last, window)
    if value is None or start is None:
        return None
    earlier = values[last - sessions_back] if last >= sessions_back else None
    low, high = None, None
    if window > 3:
        low, high = interval(value, window, float(kappa(returns.btc[-window:], returns.equity[-window:])))
    return CorrelationReading(window, value, start, series.dates[last], earlier, low, high)
