"""Has BTC's correlation with a name changed? A test between two windows (pure arithmetic).

    test = change_test(btc_returns, equity_returns)       # one value per return date (NaN: no verdict)
    test.z[-1], test.recent[-1], test.usual[-1]            # the latest verdict
    interval(0.78, 20, kappa=1.1)                          # (low, high) of its 95 % confidence interval

On each date the last ``RECENT + BASELINE`` returns of each side are scaled robustly: minus
their median, divided by 1.4826 × their median absolute deviation (the standard deviation,
for normal returns, that a crash day cannot inflate), and capped at ±2.5. Two Pearson
correlations of the scaled returns follow: *recent* over the last ``RECENT`` (20) sessions and
*usual* over the ``BASELINE`` (100) sessions before them; the windows do not overlap, so the
two estimates are independent under "nothing changed". Their Fisher-z difference, over its
standard error, is the test statistic:

    z = (atanh r_recent − atanh r_usual) / sqrt(κ · (1/(20 − 3) + 1/(100 − 3)))

κ corrects the Fisher-z variance for fat tails: the delta-method variance of a correlation
from the fourth moments of the baseline's standardized returns, over its value for normal
returns, clipped to [0.8, 4]. A 95 % confidence interval of a correlation r from n returns is
tanh(atanh r ∓ 1.96 · sqrt(κ / (n − 3))). A flat side (no spread) gives NaN, never a verdict.

The arrays may have leading dimensions (many simulated series at once): every computation is
along the last axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RECENT = 20  # sessions in the recent window
BASELINE = 100  # sessions in the usual window, just before the recent one
SPAN = RECENT + BASELINE  # returns needed for a verdict
MAD_TO_SIGMA = 1.4826  # the MAD of normal returns times this is their standard deviation
CAP = 2.5  # robust scores are capped here
KAPPA_LOW, KAPPA_HIGH = 0.8, 4.0
Z95 = 1.959963984540054  # the two-sided 95 % normal quantile
_R_MAX = 0.999999  # atanh(±1) is infinite: correlations are kept just inside


@dataclass(frozen=True, slots=True, eq=False)
class ChangeTest:
    """Per return date (last axis): the two correlations, κ and z; NaN before ``SPAN`` returns."""

    recent: np.ndarray
    usual: np.ndarray
    kappa: np.ndarray
    z: np.ndarray


def robust_scores(window: np.ndarray) -> np.ndarray:
    """``window`` (returns along the last axis) minus its median, over 1.4826 × MAD, capped at ±CAP;
    NaN where the MAD is 0."""
    median = np.median(window, axis=-1, keepdims=True)
    mad = np.median(np.abs(window - median), axis=-1, keepdims=True) * MAD_TO_SIGMA
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (window - median) / np.where(mad > 0, mad, np.nan)
    capped: np.ndarray = np.clip(scores, -CAP, CAP)
    return capped


def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis; NaN where a side has no spread."""
    cx = x - x.mean(axis=-1, keepdims=True)
    cy = y - y.mean(axis=-1, keepdims=True)
    sxx, syy = (cx * cx).sum(axis=-1), (cy * cy).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (cx * cy).sum(axis=-1) / np.sqrt(sxx * syy)
    return np.where((sxx > 1e-12) & (syy > 1e-12), np.clip(r, -1.0, 1.0), np.nan)


def kappa(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The variance of a correlation of ``x`` and ``y`` (along the last axis) relative to normal data:
    the delta-method variance from fourth moments over (1 − ρ²)², clipped to [0.8, 4]; 1 if undefined."""
    u = x - x.mean(axis=-1, keepdims=True)
    v = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = u / np.sqrt((u * u).mean(axis=-1, keepdims=True))
        v = v / np.sqrt((v * v).mean(axis=-1, keepdims=True))
        u2, v2, uv = u * u, v * v, u * v
        rho = uv.mean(axis=-1)
        m22 = (u2 * v2).mean(axis=-1)
        m40, m04 = (u2 * u2).mean(axis=-1), (v2 * v2).mean(axis=-1)
        m31, m13 = (uv * u2).mean(axis=-1), (uv * v2).mean(axis=-1)
        variance = m22 + rho**2 / 4 * (m40 + m04 + 2 * m22) - rho * (m31 + m13)
        ratio = variance / (1 - np.minimum(rho**2, _R_MAX)) ** 2
    return np.where(np.isfinite(ratio), np.clip(ratio, KAPPA_LOW, KAPPA_HIGH), 1.0)


def fisher(r: np.ndarray) -> np.ndarray:
    z: np.ndarray = np.arctanh(np.clip(r, -_R_MAX, _R_MAX))
    return z


def change_test(btc: np.ndarray, equity: np.ndarray, recent: int = RECENT, baseline: int = BASELINE) -> ChangeTest:
    """The test on every date with ``recent + baseline`` returns up to it (see the module doc)."""
    if btc.shape != equity.shape:
        raise ValueError(f"the two sides differ in shape: {btc.shape} vs {equity.shape}")
    if recent < 4 or baseline < 4:
        raise ValueError(f"windows must be at least 4 returns, got {recent} and {baseline}")
    span = recent + baseline
    out_shape = btc.shape
    nan = np.full(out_shape, np.nan)
    if btc.shape[-1] < span:
        return ChangeTest(nan, nan.copy(), nan.copy(), nan.copy())
    xs = robust_scores(sliding_window_view(np.asarray(btc, dtype=float), span, axis=-1))
    ys = robust_scores(sliding_window_view(np.asarray(equity, dtype=float), span, axis=-1))
    r_recent = pearson(xs[..., baseline:], ys[..., baseline:])
    r_usual = pearson(xs[..., :baseline], ys[..., :baseline])
    k = kappa(xs[..., :baseline], ys[..., :baseline])
    z = (fisher(r_recent) - fisher(r_usual)) / np.sqrt(k * (1 / (recent - 3) + 1 / (baseline - 3)))

    def padded(values: np.ndarray) -> np.ndarray:
        full = nan.copy()
        full[..., span - 1 :] = values
        return full

    return ChangeTest(padded(r_recent), padded(r_usual), padded(k), padded(z))


def interval(r: float, n: int, kappa: float = 1.0, quantile: float = Z95) -> tuple[float, float]:
    """The confidence interval of a correlation ``r`` from ``n`` returns: tanh(atanh r ∓ q·sqrt(κ/(n − 3)))."""
    if n <= 3 or not math.isfinite(r) or not kappa > 0:
        raise ValueError(f"no interval for r={r} from n={n} returns with kappa={kappa}")
    centre = math.atanh(max(-_R_MAX, min(_R_MAX, r)))
    half = quantile * math.sqrt(kappa / (n - 3))
    return math.tanh(centre - half), math.tanh(centre + half)
