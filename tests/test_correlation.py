"""Correlation: values against pandas, alignment (UTC day and synchronous), the change test, the
rule on hand-written verdicts and on prices, what a chat reads. The statistical power and the
false-alarm rate are proved on the real return pairs in tests/test_correlation_power.py."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.domain import Bar
from bot.markettime import MarketHours
from bot.render import render
from bot.rules import correlation as rule
from bot.rules.contract import Tick
from bot.rules.correlation import (
    CorrelationResolved,
    CorrelationSpike,
    CorrelationState,
    Inputs,
    Threshold,
    Verdicts,
    apply_rule,
    spike_param,
)
from bot.rules.correlation_change import (
    BASELINE,
    CAP,
    RECENT,
    SPAN,
    ChangeTest,
    change_test,
    interval,
    kappa,
    pearson,
    robust_scores,
)
from bot.rules.correlation_stats import (
    AlignedReturns,
    aligned_returns,
    current_correlation,
    rolling_correlation,
    synchronous_returns,
)
from bot.rules.registry import decode_values, encode_value, setting_named
from bot.values import BadArgument
from bot.values import Threshold as Sigmas
from tests.helpers import correlation_spike, real_data, real_returns, through_store

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
EQUITIES = ("NVDA", "ORCL", "AMD", "QQQ")
NEW_YORK = ZoneInfo("America/New_York")


# ---- factories and the pandas reference ------------------------------------------------


def bars(symbol: str, days: Sequence[date], closes: Sequence[float]) -> list[Bar]:
    return [
        Bar(symbol, "1d", datetime(d.year, d.month, d.day, tzinfo=UTC), c, c, c, c, None, "test")
        for d, c in zip(days, closes, strict=True)
    ]


def hourly(starts: Sequence[datetime], closes: Sequence[float]) -> list[Bar]:
    return [Bar("BTC", "1h", s, c, c, c, c, None, "test") for s, c in zip(starts, closes, strict=True)]


def calendar_days(start: date, end: date) -> list[date]:
    return [start + DAY * i for i in range((end - start).days + 1)]


def trading_days(start: date, end: date, holidays: Sequence[date] = ()) -> list[date]:
    return [d for d in calendar_days(start, end) if d.weekday() < 5 and d not in holidays]


def after_close(day: date) -> datetime:
    """When the bot first sees ``day``'s BTC bar closed."""
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC) + DAY


def ny_close(day: date, at: time = time(16)) -> datetime:
    return datetime.combine(day, at, NEW_YORK).astimezone(UTC)


@functools.cache
def hours() -> MarketHours:
    return MarketHours(date(2024, 1, 1), date(2026, 12, 31))


def pandas_corr(btc: Sequence[Bar], equity: Sequence[Bar], window: int) -> pd.Series:
    """Independent reference: inner join of closes on date, log returns, pandas rolling corr."""

    def closes(series: Sequence[Bar]) -> pd.Series:
        return pd.Series({b.ts.date(): b.close for b in series}, dtype=float)

    frame = pd.concat([closes(btc), closes(equity)], axis=1, join="inner").sort_index()
    returns = np.log(frame / frame.shift(1)).iloc[1:]
    return returns[0].rolling(window).corr(returns[1])


def assert_matches_pandas(
    mine: list[tuple[date, float | None]], ref: pd.Series, flat_ok: AlignedReturns | None = None
) -> None:
    """Same dates; equal to 1e-9 and within [-1, 1]; None where pandas has no number (or, with
    ``flat_ok``, where one side is flat to rounding and pandas' one-pass sums give noise)."""
    assert [d for d, _ in mine] == list(ref.index)
    window = ref.index.size - ref.count() + 1
    for i, ((day, value), expected) in enumerate(zip(mine, ref, strict=True)):
        if value is None:
            flat = (
                flat_ok is not None
                and i >= window - 1
                and any(np.ptp(side[i - window + 1 : i + 1]) <= 1e-12 for side in (flat_ok.btc, flat_ok.equity))
            )
            assert not math.isfinite(expected) or flat, f"{day}: None but pandas says {expected}"
        else:
            assert -1.0 <= value <= 1.0
            assert abs(value - expected) <= 1e-9, f"{day}: {value} vs pandas {expected}"


# ---- rolling values (the chart, /corr, the earnings shock's context) ---------------------


@pytest.mark.parametrize("window", [21, 63])
@pytest.mark.parametrize("symbol", EQUITIES)
def test_real_2025_values_match_pandas(symbol, window):
    btc, equity = real_data().series("BTC", "1d"), real_data().series(symbol, "1d")
    mine = rolling_correlation(aligned_returns(btc, equity), window)
    assert len(mine) == 249  # 250 sessions, every one with a BTC day
    assert sum(v is not None for _, v in mine) == 249 - window + 1
    assert_matches_pandas(mine, pandas_corr(btc, equity, window))


def test_btc_qqq_30d_correlation_on_2025_12_11_is_plausible_and_has_its_interval():
    btc, qqq = real_data().series("BTC", "1d"), real_data().series("QQQ", "1d")
    reading = current_correlation(btc, qqq, 21, now=after_close(date(2025, 12, 11)))
    ref = pandas_corr(btc, qqq, 21)
    assert reading.end == date(2025, 12, 11)
    assert reading.start == ref.index[ref.index.get_loc(date(2025, 12, 11)) - 20] == date(2025, 11, 12)
    assert reading.value == pytest.approx(ref[date(2025, 12, 11)], abs=1e-9)
    assert reading.earlier == pytest.approx(ref[date(2025, 11, 26)], abs=1e-9)  # 10 sessions back
    returns = aligned_returns(btc, qqq, now=after_close(date(2025, 12, 11)))
    tails = float(kappa(returns.btc[-21:], returns.equity[-21:]))
    assert (reading.low, reading.high) == pytest.approx(interval(reading.value, 21, tails), abs=1e-12)
    assert reading.low < reading.value < reading.high


def hand_calendar():
    """Q4 2025: equity closed on weekends, Thanksgiving and Christmas; BTC's 2025-12-10 is missing."""
    rng = np.random.default_rng(7)
    btc_days = [d for d in calendar_days(date(2025, 10, 1), date(2025, 12, 31)) if d != date(2025, 12, 10)]
    eq_days = trading_days(date(2025, 10, 1), date(2025, 12, 31), [date(2025, 11, 27), date(2025, 12, 25)])
    btc = bars("BTC", btc_days, 90_000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(btc_days)))))
    eq = bars("NVDA", eq_days, 180 * np.exp(np.cumsum(rng.normal(0, 0.03, len(eq_days)))))
    return btc, eq


def test_alignment_uses_equity_sessions_and_drops_missing_days():
    btc, eq = hand_calendar()
    btc_close = {b.ts.date(): b.close for b in btc}
    eq_close = {b.ts.date(): b.close for b in eq}
    r = aligned_returns(btc, eq)
    btc_r, eq_r = dict(zip(r.dates, r.btc, strict=True)), dict(zip(r.dates, r.equity, strict=True))
    assert all(d.weekday() < 5 for d in r.dates)
    for gone in (date(2025, 11, 27), date(2025, 12, 25), date(2025, 12, 10), date(2025, 10, 1)):
        assert gone not in btc_r
    monday, friday, before = date(2025, 12, 1), date(2025, 11, 28), date(2025, 11, 26)
    assert btc_r[monday] == pytest.approx(math.log(btc_close[monday] / btc_close[friday]), abs=1e-15)
    assert btc_r[friday] == pytest.approx(math.log(btc_close[friday] / btc_close[before]), abs=1e-15)
    after, ninth = date(2025, 12, 11), date(2025, 12, 9)
    assert eq_r[after] == pytest.approx(math.log(eq_close[after] / eq_close[ninth]), abs=1e-15)
    assert len(r.dates) == len(eq) - 2  # the first session has no return, 12-10 has no BTC bar


@pytest.mark.parametrize("window", [5, 21, 63])
def test_hand_calendar_values_match_pandas(window):
    btc, eq = hand_calendar()
    assert_matches_pandas(rolling_correlation(aligned_returns(btc, eq), window), pandas_corr(btc, eq, window))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n_days=st.integers(20, 120), window=st.integers(5, 30))
def test_random_price_paths_match_pandas_and_stay_in_range(data, n_days, window):
    days = calendar_days(date(2025, 1, 1), date(2025, 1, 1) + DAY * (n_days - 1))
    steps = st.lists(st.integers(-30, 30), min_size=n_days, max_size=n_days)
    btc_close = 60_000 * np.exp(np.cumsum(np.array(data.draw(steps)) / 1000))
    eq_close = 150 * np.exp(np.cumsum(np.array(data.draw(steps)) / 1000))
    holes = data.draw(st.sets(st.integers(0, n_days - 1), max_size=n_days // 5))
    missing = data.draw(st.sets(st.integers(0, n_days - 1), max_size=3))
    btc = bars(
        "BTC",
        [d for i, d in enumerate(days) if i not in missing],
        [c for i, c in enumerate(btc_close) if i not in missing],
    )
    eq_idx = [i for i, d in enumerate(days) if d.weekday() < 5 and i not in holes]
    eq = bars("QQQ", [days[i] for i in eq_idx], [eq_close[i] for i in eq_idx])
    returns = aligned_returns(btc, eq)
    assert_matches_pandas(rolling_correlation(returns, window), pandas_corr(btc, eq, window), returns)


# ---- synchronous returns: BTC at the NYSE close ----------------------------------------


def price_at(when: datetime) -> float:
    """The hand-made BTC path: 100,000 plus one dollar per hour since 2025-01-01."""
    return 100_000.0 + (when - datetime(2025, 1, 1, tzinfo=UTC)) / HOUR


def every_hour(start: date, end: date, skip: Sequence[datetime] = ()) -> list[Bar]:
    first = datetime.combine(start, time(0), UTC)
    starts = [first + HOUR * i for i in range(int((datetime.combine(end, time(0), UTC) - first) / HOUR))]
    starts = [s for s in starts if s not in skip]
    return hourly(starts, [price_at(s + HOUR) for s in starts])


def test_btc_is_priced_at_each_sessions_close_summer_winter_and_half_day():
    # 2025-11-26 (EST, 21:00 UTC), 11-28 (half day, 13:00 New York = 18:00 UTC), 07-14/15 (EDT, 20:00 UTC)
    sessions = [date(2025, 7, 14), date(2025, 7, 15), date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    equity = bars("NVDA", sessions, [100.0, 101.0, 102.0, 103.0, 104.0])
    btc_daily = bars("BTC", calendar_days(date(2025, 7, 1), date(2025, 12, 31)), [50_000.0] * 184)
    closes = rule.session_closes(hours())
    assert closes(date(2025, 11, 28)) == datetime(2025, 11, 28, 18, tzinfo=UTC)
    r = synchronous_returns(
        btc_daily,
        every_hour(date(2025, 7, 1), date(2026, 1, 1)),
        equity,
        now=after_close(date(2025, 12, 1)),
        session_close=closes,
    )
    at = [ny_close(d, time(13) if d == date(2025, 11, 28) else time(16)) for d in sessions]
    assert at[0] == datetime(2025, 7, 14, 20, tzinfo=UTC) and at[2] == datetime(2025, 11, 26, 21, tzinfo=UTC)
    expected = [math.log(price_at(b) / price_at(a)) for a, b in itertools.pairwise(at)]
    assert r.dates == tuple(sessions[1:])
    assert list(r.btc) == pytest.approx(expected, abs=1e-15)
    assert list(r.at_close) == [True] * 4


def test_without_an_hourly_bar_near_the_close_btc_falls_back_to_its_daily_close():
    sessions = trading_days(date(2025, 12, 1), date(2025, 12, 5))
    equity = bars("NVDA", sessions, [100.0, 101.0, 102.0, 103.0, 104.0])
    btc_daily = bars("BTC", calendar_days(date(2025, 11, 30), date(2025, 12, 6)), [40_000.0 + i for i in range(7)])
    dec = {d.day: datetime.combine(d, time(0), UTC) for d in sessions}
    # 12-02: the last bar before its 21:00 UTC close ends at 19:00 UTC (2 h before: still stands for it);
    # 12-03: it ends at 18:00 UTC (3 h before: the daily close is used instead).
    skip = [dec[2] + HOUR * 19, dec[2] + HOUR * 20, dec[3] + HOUR * 18, dec[3] + HOUR * 19, dec[3] + HOUR * 20]
    r = synchronous_returns(
        btc_daily, every_hour(date(2025, 11, 30), date(2025, 12, 7), skip), equity, now=after_close(date(2025, 12, 6))
    )
    assert list(r.at_close) == [True, False, True, True]
    daily_3rd = 40_000.0 + 3  # BTC's bar of 12-03 (UTC day), the 4th daily bar
    assert r.btc[1] == pytest.approx(math.log(daily_3rd / price_at(dec[2] + HOUR * 19)), abs=1e-15)
    assert r.btc[2] == pytest.approx(math.log(price_at(dec[4] + HOUR * 21) / daily_3rd), abs=1e-15)


def test_a_session_counts_once_it_has_closed_and_btc_is_known():
    sessions = trading_days(date(2025, 12, 1), date(2025, 12, 5))
    equity = bars("NVDA", sessions, [100.0, 101.0, 102.0, 103.0, 104.0])
    btc_daily = bars("BTC", calendar_days(date(2025, 11, 30), date(2025, 12, 6)), [40_000.0 + i for i in range(7)])
    friday_close = datetime(2025, 12, 5, 21, tzinfo=UTC)
    synced = every_hour(date(2025, 11, 30), date(2025, 12, 7))

    def last_date(btc_hourly, now):
        r = synchronous_returns(btc_daily, [b for b in btc_hourly if b.ts + HOUR <= now], equity, now=now)
        return r.dates[-1]

    assert last_date(synced, friday_close - timedelta(minutes=1)) == date(2025, 12, 4)
    assert last_date(synced, friday_close) == date(2025, 12, 5)  # the hourly bar closes with the session
    assert last_date([], friday_close) == date(2025, 12, 4)  # only BTC's daily close: at midnight UTC
    assert last_date([], datetime(2025, 12, 6, tzinfo=UTC)) == date(2025, 12, 5)


@pytest.mark.parametrize("symbol", EQUITIES)
def test_on_2025_data_the_3_to_4_hour_offset_moves_the_30d_value_by_about_0_07(symbol):
    synced = real_returns(symbol)
    utc_day = aligned_returns(real_data().series("BTC", "1d"), real_data().series(symbol, "1d"))
    assert synced.dates == utc_day.dates
    assert int(synced.at_close.sum()) == 131  # 2025-05-13 .. 2025-11-21, less the days the hourly file misses
    a, b = dict(rolling_correlation(synced, 21)), dict(rolling_correlation(utc_day, 21))
    whole = [i for i in range(22, len(synced.dates)) if synced.at_close[i - 21 : i + 1].all()]
    gaps = [abs(a[synced.dates[i]] - b[synced.dates[i]]) for i in whole]
    print(f"{symbol}: mean |synchronous - UTC day| of the 30d value {np.mean(gaps):.3f} over {len(gaps)} windows")
    assert len(gaps) == 75 and 0.05 <= np.mean(gaps) <= 0.11


# ---- the change test --------------------------------------------------------------------


def plain_test(x: np.ndarray, y: np.ndarray, i: int) -> tuple[float, float, float, float]:
    """The test on date ``i`` written out plainly, one date at a time (the reference)."""

    def scores(values: np.ndarray) -> np.ndarray:
        median = float(np.median(values))
        mad = 1.4826 * float(np.median([abs(v - median) for v in values]))
        return np.array([max(-2.5, min(2.5, (v - median) / mad)) for v in values])

    sx, sy = scores(x[i - SPAN + 1 : i + 1]), scores(y[i - SPAN + 1 : i + 1])
    r_recent = float(np.corrcoef(sx[BASELINE:], sy[BASELINE:])[0, 1])
    r_usual = float(np.corrcoef(sx[:BASELINE], sy[:BASELINE])[0, 1])
    u, v = sx[:BASELINE], sy[:BASELINE]
    u, v = (u - u.mean()) / u.std(), (v - v.mean()) / v.std()
    rho = float(np.mean(u * v))
    m = {(j, k): float(np.mean(u**j * v**k)) for j, k in ((2, 2), (4, 0), (0, 4), (3, 1), (1, 3))}
    var = rho**2 / 4 * (m[4, 0] + m[0, 4] + 2 * m[2, 2]) - rho * (m[3, 1] + m[1, 3]) + m[2, 2]
    k = min(4.0, max(0.8, var / (1 - rho**2) ** 2))
    z = (math.atanh(r_recent) - math.atanh(r_usual)) / math.sqrt(k * (1 / (RECENT - 3) + 1 / (BASELINE - 3)))
    return r_recent, r_usual, k, z


def test_the_test_matches_a_plain_computation_date_by_date():
    rng = np.random.default_rng(3)
    x = rng.standard_t(4, 200) * 0.02
    y = 0.4 * x + rng.standard_t(4, 200) * 0.02
    y[150:] = x[150:] + rng.normal(0, 0.004, 50)  # coupled at the end
    test = change_test(x, y)
    assert np.isnan(test.z[: SPAN - 1]).all() and np.isfinite(test.z[SPAN - 1 :]).all()
    for i in (SPAN - 1, 150, 169, 199):
        got = (test.recent[i], test.usual[i], test.kappa[i], test.z[i])
        assert got == pytest.approx(plain_test(x, y, i), rel=1e-9, abs=1e-12)
    assert test.z[169] > 5  # 20 coupled sessions against 100 loose ones


def test_the_test_needs_120_returns_and_a_side_that_moves():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0, 0.02, 130), rng.normal(0, 0.02, 130)
    assert np.isnan(change_test(x[: SPAN - 1], y[: SPAN - 1]).z).all()
    assert np.isfinite(change_test(x[:SPAN], y[:SPAN]).z[-1])
    flat = x.copy()
    flat[:] = 0.01
    assert np.isnan(change_test(flat, y).z).all()
    with pytest.raises(ValueError):
        change_test(x, y[:-1])


def test_a_crash_day_is_capped_not_allowed_to_make_the_correlation():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 0.02, SPAN), rng.normal(0, 0.02, SPAN)
    x[-1], y[-1] = -0.30, -0.25  # one shared crash in the recent window
    assert pearson(x[-RECENT:], y[-RECENT:]) > 0.8  # a plain correlation is made by that one day
    assert change_test(x, y).recent[-1] < 0.5
    assert np.abs(robust_scores(x)).max() == CAP


def test_confidence_interval_against_an_independent_computation():
    q = NormalDist().inv_cdf(0.975)
    for r, n, k in ((0.78, 20, 1.0), (0.21, 100, 1.0), (-0.35, 20, 1.7), (0.0, 63, 0.8), (0.999, 21, 4.0)):
        zr = 0.5 * math.log((1 + r) / (1 - r))
        half = q * math.sqrt(k / (n - 3))
        expected = tuple((math.exp(2 * w) - 1) / (math.exp(2 * w) + 1) for w in (zr - half, zr + half))
        assert interval(r, n, k) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError):
        interval(0.5, 3)


def test_the_interval_covers_the_true_correlation_95_times_in_100():
    rng = np.random.default_rng(6)
    rho, n, samples = 0.6, 20, 4000
    d = rng.standard_normal((samples, n, 2)) @ np.linalg.cholesky([[1, rho], [rho, 1]]).T
    r = pearson(d[..., 0], d[..., 1])
    covered = np.mean([lo <= rho <= hi for lo, hi in (interval(float(v), n) for v in r)])
    assert 0.94 <= covered <= 0.965


def test_kappa_is_about_1_for_normal_returns_and_widens_the_interval_for_fat_tails():
    rng = np.random.default_rng(8)
    rho, n, samples = 0.3, 100, 3000
    d = rng.standard_normal((samples, n, 2)) @ np.linalg.cholesky([[1, rho], [rho, 1]]).T
    assert 0.9 <= float(np.median(kappa(d[..., 0], d[..., 1]))) <= 1.05
    fat = d / np.sqrt(rng.chisquare(6, (samples, n, 1)) / 6)  # bivariate t, 6 degrees of freedom
    r, k = pearson(fat[..., 0], fat[..., 1]), kappa(fat[..., 0], fat[..., 1])
    plain = np.mean([lo <= rho <= hi for lo, hi in (interval(float(v), n) for v in r)])
    corrected = np.mean(
        [lo <= rho <= hi for lo, hi in (interval(float(v), n, float(w)) for v, w in zip(r, k, strict=True))]
    )
    assert plain < 0.9 and 0.92 <= corrected <= 0.96
    assert ((k >= 0.8) & (k <= 4.0)).all()


# ---- the rule on hand-written verdicts ---------------------------------------------------

T0 = date(2025, 1, 2)


def verdicts_of(zs: Sequence[float | None]) -> Verdicts:
    """Hand-written z values on consecutive sessions, after the 119 returns of the warm-up."""
    n = SPAN - 1 + len(zs)
    dates = tuple(trading_days(T0, T0 + DAY * 800)[:n])
    z = np.array([np.nan] * (SPAN - 1) + [np.nan if v is None else v for v in zs])
    recent = np.where(np.isnan(z), np.nan, np.clip(0.3 + 0.15 * np.nan_to_num(z), -0.95, 0.95))
    usual = np.where(np.isnan(z), np.nan, 0.3)
    return Verdicts(dates, ChangeTest(recent, usual, np.where(np.isnan(z), np.nan, 1.1), z), np.full(n, 20.0))


def upto(v: Verdicts, k: int) -> Verdicts:
    t = v.test
    return Verdicts(v.dates[:k], ChangeTest(t.recent[:k], t.usual[:k], t.kappa[:k], t.z[:k]), v.at_close[:k])


def inputs_of(v: Verdicts, *, latest: date | None = None, fresh: bool = True, told=frozenset()) -> Inputs:
    return Inputs("NVDA", v, latest, fresh, frozenset(told))


def run_daily(zs: Sequence[float | None], threshold: float = 3.1) -> list[tuple[int, str]]:
    """The bot evaluating once a session, restarting (state through JSON) every time."""
    full = verdicts_of(zs)
    state, seen = CorrelationState(), []
    for k in range(1, len(full.dates) + 1):
        day = full.dates[k - 1]
        state = through_store(state)
        state, alerts = apply_rule(inputs_of(upto(full, k), latest=day), state, threshold, after_close(day))
        n = k - SPAN
        seen += [(n, ("open " if isinstance(a, CorrelationSpike) else "back ") + a.direction) for a in alerts]
    return seen


def test_a_rise_opens_once_closes_below_1_and_may_open_again():
    #         0    1    2    3    4    5    6    7    8
    zs = [0.5, 2.0, 3.2, 3.5, 2.0, 1.0, 0.9, 0.4, 3.1]
    assert run_daily(zs) == [(2, "open up"), (6, "back up"), (8, "open up")]


def test_a_fall_opens_as_a_decoupling_and_closes_the_same_way():
    assert run_daily([-0.5, -3.3, -2.0, 3.5, -0.8]) == [(1, "open down"), (4, "back down")]


@pytest.mark.parametrize(
    ("zs", "threshold", "expected"),
    [
        ([3.0999], 3.1, []),
        ([3.1], 3.1, [(0, "open up")]),
        ([-3.1], 3.1, [(0, "open down")]),
        ([2.6], 2.5, [(0, "open up")]),
        ([5.9], 6.0, []),
    ],
)
def test_the_threshold_is_the_chats(zs, threshold, expected):
    assert run_daily(zs, threshold) == expected


def test_a_date_without_a_verdict_neither_opens_nor_closes():
    assert run_daily([None, 3.5, None, 0.5, None]) == [(1, "open up"), (3, "back up")]


def test_nothing_before_the_120th_return_and_the_state_still_moves():
    full = verdicts_of([])
    assert all(full.at(i) is None for i in range(len(full.dates)))
    state, alerts = apply_rule(inputs_of(full), CorrelationState(), 3.1, after_close(full.dates[-1]))
    assert alerts == [] and state == CorrelationState(last_date=full.dates[-1])


def test_catching_up_alerts_only_for_the_latest_session_and_only_while_fresh():
    full = verdicts_of([0.5, 3.5, 3.6, 0.5, 0.4, 3.4])
    quiet, _ = apply_rule(inputs_of(upto(full, SPAN)), CorrelationState(), 3.1, after_close(full.dates[SPAN - 1]))
    # the opening at 1 and the closing at 3 are history by now: the state moves on, nothing is said
    state, alerts = apply_rule(inputs_of(upto(full, SPAN + 4)), quiet, 3.1, after_close(full.dates[SPAN + 3]))
    assert alerts == [] and state.active is None and state.last_date == full.dates[SPAN + 3]
    quiet = state
    latest = full.dates[-1]
    for stale in (inputs_of(full, latest=latest + DAY), inputs_of(full, latest=latest, fresh=False)):
        state, alerts = apply_rule(stale, quiet, 3.1, after_close(latest))
        assert alerts == [] and state.active == "up" and state.opened_on == latest  # silent, but opened
    state, alerts = apply_rule(inputs_of(full, latest=latest), quiet, 3.1, after_close(latest))
    assert [(type(a), a.end) for a in alerts] == [(CorrelationSpike, latest)]
    assert apply_rule(inputs_of(full, latest=latest), state, 3.1, after_close(latest)) == (state, [])


def test_a_restart_neither_repeats_nor_forgets():
    full = verdicts_of([0.5, 3.5, 2.0, 0.5])
    now = after_close(full.dates[SPAN])
    state, alerts = apply_rule(inputs_of(upto(full, SPAN + 1)), CorrelationState(), 3.1, now)
    assert len(alerts) == 1
    restored = through_store(state)
    assert restored == state and restored.active == "up"
    assert apply_rule(inputs_of(upto(full, SPAN + 1)), restored, 3.1, now) == (restored, [])
    state, alerts = apply_rule(inputs_of(full), restored, 3.1, after_close(full.dates[-1]))
    assert [type(a) for a in alerts] == [CorrelationResolved]


def test_the_closing_goes_only_to_the_chats_told_of_the_opening():
    full = verdicts_of([3.5, 0.5])
    state, opened = rule.evaluate(inputs_of(upto(full, SPAN), told={7}), CorrelationState(), Threshold(3.1), T0)
    assert [o.chats for o in opened] == [None]  # an opening goes to every chat with this threshold
    _, closed = rule.evaluate(inputs_of(full, told={1, 2}), state, Threshold(3.1), T0)
    assert [(type(o.alert), o.chats) for o in closed] == [(CorrelationResolved, frozenset({1, 2}))]


def test_state_round_trips_through_the_store():
    state = CorrelationState(date(2025, 12, 11), "down", date(2025, 12, 10))
    assert through_store(state) == state
    assert through_store(CorrelationState()) == CorrelationState()


# ---- the rule's inputs through a MarketView -------------------------------------------------


@dataclass
class FakeView:
    """The bars a rule may read, and the chats told of a spike (the engine's StoreView in small)."""

    series: dict[tuple[str, str], list[Bar]]
    told_chats: frozenset[int] = frozenset({5})
    asked: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings()

    def daily(self, symbol, since, until=None):
        return [b for b in self.series.get((symbol, "1d"), []) if b.ts >= since]

    def hourly(self, symbol, since, until=None):
        return [b for b in self.series.get((symbol, "1h"), []) if b.ts >= since]

    def told(self, kind, symbol, param):
        self.asked.append((kind, symbol, param))
        return self.told_chats

    def memo(self, key, make):
        return make()  # every call fresh: a test view lives for one tick


def coupling_scenario(coupled_from: int = 140, coupled_for: int = 30, total: int = 200):
    """BTC hourly and daily; NVDA moves on its own, then for ``coupled_for`` sessions with BTC's
    close-to-close move, then on its own again."""
    rng = np.random.default_rng(11)
    sessions = [d for d in trading_days(date(2025, 1, 2), date(2026, 6, 30)) if hours().is_trading_day(d)][:total]
    closes = rule.session_closes(hours())
    first = datetime.combine(sessions[0] - DAY, time(0), UTC)
    n_hours = int((datetime.combine(sessions[-1] + 2 * DAY, time(0), UTC) - first) / HOUR)
    starts = [first + HOUR * i for i in range(n_hours)]
    btc_path = 90_000 * np.exp(np.cumsum(rng.normal(0, 0.004, n_hours)))
    btc_hourly = hourly(starts, btc_path)
    at_close = {d: btc_path[int((closes(d) - first) / HOUR) - 1] for d in sessions}
    days = calendar_days(sessions[0] - DAY, sessions[-1] + DAY)
    btc_daily = bars(
        "BTC",
        days,
        [btc_path[min(int((datetime.combine(d + DAY, time(0), UTC) - first) / HOUR) - 1, n_hours - 1)] for d in days],
    )
    price = [150.0]
    for i in range(1, len(sessions)):
        move = math.log(at_close[sessions[i]] / at_close[sessions[i - 1]])
        own = rng.normal(0, 0.025)
        coupled = coupled_from <= i < coupled_from + coupled_for
        price.append(price[-1] * math.exp(move + own / 5 if coupled else own))
    return btc_daily, btc_hourly, bars("NVDA", sessions, price), sessions


def test_prices_that_start_moving_together_open_once_with_their_facts_and_close_later():
    btc_daily, btc_hourly, nvda, sessions = coupling_scenario()
    state, sent = CorrelationState(), []
    for day in sessions:
        now = rule.session_closes(hours())(day) + timedelta(minutes=2)
        visible = FakeView(
            {
                ("BTC", "1d"): [b for b in btc_daily if b.ts + DAY <= now],
                ("BTC", "1h"): [b for b in btc_hourly if b.ts + HOUR <= now],
                ("NVDA", "1d"): [b for b in nvda if b.ts.date() <= day],
            }
        )
        tick = Tick(now, (), (), ("NVDA",), frozenset({"BTC"}), lambda s: True, hours())
        state, outs = rule.evaluate(rule.inputs(visible, tick, "NVDA", Threshold(3.1)), state, Threshold(3.1), now)
        sent += [o.alert for o in outs]
        assert visible.asked == [("correlation_spike", "NVDA", "3.1/20/100")]
    assert [(type(a), a.direction) for a in sent] == [(CorrelationSpike, "up"), (CorrelationResolved, "up")]
    spike = sent[0]
    opened_on = sessions.index(spike.end)
    assert 140 < opened_on < 160  # within 20 sessions of the coupling's start
    returns = synchronous_returns(
        btc_daily, btc_hourly, nvda, now=spike.time, session_close=rule.session_closes(hours())
    )
    i = returns.dates.index(spike.end)
    recent, usual, k, z = plain_test(np.asarray(returns.btc), np.asarray(returns.equity), i)
    assert (spike.value, spike.usual, spike.kappa, spike.z) == pytest.approx((recent, usual, k, z), rel=1e-9)
    assert z >= 3.1 and spike.threshold == 3.1
    assert (spike.low, spike.high) == pytest.approx(interval(recent, 20, k), abs=1e-12)
    assert (spike.usual_low, spike.usual_high) == pytest.approx(interval(usual, 100, k), abs=1e-12)
    assert spike.start == returns.dates[i - 19] and spike.usual_end == returns.dates[i - 20]
    assert spike.usual_start == returns.dates[i - 119] and spike.at_close == 20
    assert str(spike.key) == f"correlation_spike:NVDA:3.1/20/100:up:{spike.end.isoformat()}"
    assert spike.param == spike_param(3.1)  # the closing looks its chats up by this


def test_stale_data_never_alerts():
    btc_daily, btc_hourly, nvda, sessions = coupling_scenario()
    view = FakeView({("BTC", "1d"): btc_daily, ("BTC", "1h"): btc_hourly, ("NVDA", "1d"): nvda})
    day = sessions[150]
    now = rule.session_closes(hours())(day) + timedelta(minutes=2)
    visible = FakeView({k: [b for b in v if b.ts.date() <= day] for k, v in view.series.items()})
    for fresh in (lambda s: s != "BTC", lambda s: s != "NVDA"):
        tick = Tick(now, (), (), ("NVDA",), frozenset({"BTC"}), fresh, hours())
        found = rule.inputs(visible, tick, "NVDA", Threshold(2.0))
        assert not found.fresh
        state, outs = rule.evaluate(found, CorrelationState(), Threshold(2.0), now)
        assert outs == [] and state.last_date == day
    # NVDA's bar of the latest session is missing: the latest date is not the latest session
    behind = FakeView({**visible.series, ("NVDA", "1d"): [b for b in nvda if b.ts.date() < day]})
    tick = Tick(now, (), (), ("NVDA",), frozenset({"BTC"}), lambda s: True, hours())
    found = rule.inputs(behind, tick, "NVDA", Threshold(2.0))
    assert found.latest == day and found.verdicts.dates[-1] < day
    assert rule.evaluate(found, CorrelationState(), Threshold(2.0), now)[1] == []


def test_scopes_are_the_watchlist_when_a_daily_bar_came_in():
    bar = bars("NVDA", [date(2025, 12, 1)], [1.0])
    tick = Tick(after_close(date(2025, 12, 1)), (), tuple(bar), ("NVDA", "AMD"), frozenset(), lambda s: True, hours())
    assert tuple(rule.scopes(tick)) == ("NVDA", "AMD")
    assert tuple(rule.scopes(Tick(tick.now, (), (), ("NVDA",), frozenset(), lambda s: True, hours()))) == ()


# ---- what a chat reads, and the setting -------------------------------------------------------


def spike(**changes) -> CorrelationSpike:
    return correlation_spike(**{"time": datetime(2025, 12, 12, 0, 0, tzinfo=UTC), "value": 0.78, **changes})


def test_a_spike_reads_as_a_change_with_its_confidence_intervals():
    assert render(spike(), "en", "UTC").split("\n") == [
        "<b>📈 BTC moves with NVDA more than usual</b>",
        "Correlation 0.78 (95 % CI 0.52–0.91) vs usual 0.21 (0.02–0.38)",
        "A change of 3.4σ (standard errors; alerts from 3.1σ)",
        "Last 20 sessions 13 Nov\u2009–\u200911 Dec 2025 vs the 100 before",
        "Daily returns with BTC priced at the NYSE close",
        "<i>Fri 12 Dec 2025, 00:00 UTC</i>",
    ]
    assert render(spike(), "zh", "Asia/Shanghai").split("\n")[:3] == [
        "<b>📈 BTC 与 NVDA 的联动高于往常</b>",
        "相关性 0.78（95% 置信区间 0.52–0.91），往常 0.21（0.02–0.38）",
        "变化幅度 3.4σ（以标准误计；达到 3.1σ 即提醒）",
    ]


def test_a_decoupling_and_the_way_back_read_as_such():
    fall = spike(direction="down", z=-3.3, value=-0.2, low=-0.58, high=0.26, at_close=12)
    assert render(fall, "en", "UTC").split("\n")[:3] == [
        "<b>📉 BTC decoupled from NVDA: less correlated than usual</b>",
        "Correlation −0.20 (95 % CI −0.58–0.26) vs usual 0.21 (0.02–0.38)",
        "A change of 3.3σ (standard errors; alerts from 3.1σ)",
    ]
    assert "on 12 of 20 sessions" in render(fall, "en", "UTC")
    back = CorrelationResolved(**_fields(spike(z=0.62)))
    text = render(back, "en", "UTC")
    assert text.split("\n")[:3] == [
        "<b>✅ BTC and NVDA: back to their usual correlation</b>",
        "Correlation 0.78 (95 % CI 0.52–0.91) vs usual 0.21 (0.02–0.38)",
        "The change is down to 0.6σ (an episode ends below 1.0σ)",
    ]
    assert "threshold" not in text and "0.70" not in text
    assert render(back, "zh", "UTC").split("\n")[0] == "<b>✅ BTC 与 NVDA 的相关性回到往常水平</b>"
    assert "BTC at its daily close" in render(spike(at_close=0), "en", "UTC")


def _fields(alert: CorrelationSpike) -> dict:
    return {f.name: getattr(alert, f.name) for f in dataclasses.fields(alert)}


@pytest.mark.parametrize(("text", "value"), [("3.5", 3.5), ("3.5σ", 3.5), ("2 sigma", 2.0), ("6", 6.0)])
def test_the_setting_is_standard_errors_from_2_to_6(text, value):
    setting = setting_named("corr")
    assert setting is not None and setting_named("correlation") is setting
    parsed = setting.parse(text)
    assert parsed == Sigmas(value, "σ")
    assert rule.params({"corr": parsed}) == Threshold(value)
    assert decode_values({"corr": encode_value(setting, parsed)}) == {"corr": parsed}


@pytest.mark.parametrize(
    ("text", "key"), [("1.9", "args.out_of_range"), ("7σ", "args.out_of_range"), ("abc", "args.not_a_number")]
)
def test_a_bad_setting_is_refused(text, key):
    with pytest.raises(BadArgument) as caught:
        rule.sigmas(text)
    assert caught.value.key == key and caught.value.values["text"] == text


def test_the_old_correlation_threshold_stored_by_a_chat_falls_back_to_the_default():
    assert decode_values({"corr": "0.7"}) == {}
    assert rule.params({"corr": Sigmas(Settings().corr_change_z, "σ")}) == Threshold(3.1)


def test_corr_shows_the_alert_test_or_what_it_still_needs():
    from bot.telegram.market_views import CorrTest, corr_test_lines

    assert corr_test_lines("en", CorrTest(None, 3.1)) == [
        "Alert test: needs 120 daily returns in common (last 20 sessions vs the 100 before)"
    ]
    verdict = rule.Verdict(
        date(2025, 12, 31), -1.24, 0.05, 0.3, 1.0, date(2025, 12, 2), date(2025, 7, 9), date(2025, 12, 1), 0
    )
    (low, high), (usual_low, usual_high) = verdict.bounds()
    assert corr_test_lines("en", CorrTest(verdict, 4.0))[1:] == [
        f"Correlation 0.05 (95 % CI {fmt(low)}–{fmt(high)}) vs usual 0.30 ({fmt(usual_low)}–{fmt(usual_high)})",
        "Change −1.2σ (standard errors); alerts from ±4.0σ",
    ]
    assert corr_test_lines("zh", CorrTest(verdict, 4.0))[2] == "变化幅度 −1.2σ（标准误）；达到 ±4.0σ 即提醒"


def fmt(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")
