"""The correlation-spike rule: values against pandas, alignment on real calendars, alerts a user sees."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import Bar
from bot.rules.correlation import (
    CorrelationParams,
    CorrelationResolved,
    CorrelationSpike,
    CorrelationState,
    apply_rule,
    evaluate_correlation,
)
from bot.rules.correlation_stats import (
    AlignedReturns,
    CorrelationSeries,
    aligned_returns,
    current_correlation,
    rolling_correlation,
)
from bot.sources.replay_data import load_replay_data
from tests.helpers import through_store

DAY = timedelta(days=1)
PARAMS = CorrelationParams()
EQUITIES = ("NVDA", "ORCL", "AMD", "QQQ")


# ---- factories and the pandas reference ------------------------------------------------


def bars(symbol: str, days: Sequence[date], closes: Sequence[float]) -> list[Bar]:
    return [
        Bar(symbol, "1d", datetime(d.year, d.month, d.day, tzinfo=UTC), c, c, c, c, None, "test")
        for d, c in zip(days, closes, strict=True)
    ]


def calendar_days(start: date, end: date) -> list[date]:
    return [start + DAY * i for i in range((end - start).days + 1)]


def trading_days(start: date, end: date, holidays: Sequence[date] = ()) -> list[date]:
    return [d for d in calendar_days(start, end) if d.weekday() < 5 and d not in holidays]


def after_close(day: date) -> datetime:
    """When the bot first sees ``day``'s BTC bar closed."""
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC) + DAY


@functools.cache
def real_data():
    return load_replay_data()


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


# ---- values ------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [21, 63])
@pytest.mark.parametrize("symbol", EQUITIES)
def test_real_2025_values_match_pandas(symbol, window):
    btc, equity = real_data().series("BTC", "1d"), real_data().series(symbol, "1d")
    mine = rolling_correlation(aligned_returns(btc, equity), window)
    assert len(mine) == 249  # 250 sessions, every one with a BTC day
    assert sum(v is not None for _, v in mine) == 249 - window + 1
    assert_matches_pandas(mine, pandas_corr(btc, equity, window))


def test_btc_qqq_30d_correlation_on_2025_12_11_is_plausible():
    btc, qqq = real_data().series("BTC", "1d"), real_data().series("QQQ", "1d")
    reading = current_correlation(btc, qqq, 21, now=after_close(date(2025, 12, 11)))
    ref = pandas_corr(btc, qqq, 21)
    print(f"BTC/QQQ 30d correlation on 2025-12-11: {reading.value:.4f} ({reading.start}..{reading.end})")
    assert reading.end == date(2025, 12, 11)
    assert reading.start == ref.index[ref.index.get_loc(date(2025, 12, 11)) - 20] == date(2025, 11, 12)
    assert math.isfinite(reading.value) and -1 <= reading.value <= 1
    assert reading.value == pytest.approx(ref[date(2025, 12, 11)], abs=1e-9)
    assert reading.earlier == pytest.approx(ref[date(2025, 11, 26)], abs=1e-9)  # 10 sessions back


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
    # Monday's BTC return spans the weekend; the day after a holiday spans the holiday.
    monday, friday, before = date(2025, 12, 1), date(2025, 11, 28), date(2025, 11, 26)
    assert btc_r[monday] == pytest.approx(math.log(btc_close[monday] / btc_close[friday]), abs=1e-15)
    assert btc_r[friday] == pytest.approx(math.log(btc_close[friday] / btc_close[before]), abs=1e-15)
    # A missing BTC day drops that session: the next return spans two equity sessions.
    after, ninth = date(2025, 12, 11), date(2025, 12, 9)
    assert eq_r[after] == pytest.approx(math.log(eq_close[after] / eq_close[ninth]), abs=1e-15)
    assert len(r.dates) == len(eq) - 2  # the first session has no return, 12-10 has no BTC bar


@pytest.mark.parametrize("window", [5, 21, 63])
def test_hand_calendar_values_match_pandas(window):
    btc, eq = hand_calendar()
    assert_matches_pandas(rolling_correlation(aligned_returns(btc, eq), window), pandas_corr(btc, eq, window))


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n_days=st.integers(20, 120),
    window=st.integers(5, 30),
)
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


@pytest.mark.parametrize("growth", [1.0, 1.01], ids=["flat", "steady-1%-a-session"])
def test_constant_btc_returns_give_no_value_and_no_alert(growth):
    days = trading_days(date(2025, 3, 3), date(2025, 4, 30))
    every_day = calendar_days(days[0], days[-1])
    sessions_so_far = [sum(s <= d for s in days) for d in every_day]  # weekends keep Friday's price
    btc = bars("BTC", every_day, [95_000.0 * growth**n for n in sessions_so_far])
    eq = bars("NVDA", days, 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.03, len(days)))))
    returns = aligned_returns(btc, eq)
    mine = rolling_correlation(returns, 21)
    assert all(v is None for _, v in mine)  # pandas gives rounding noise for the steady case
    assert_matches_pandas(mine, pandas_corr(btc, eq, 21), returns)
    assert current_correlation(btc, eq, 21) is None
    state, alerts = evaluate_correlation("NVDA", btc, eq, PARAMS, CorrelationState(), after_close(days[-1]))
    assert alerts == [] and not state.active and state.last_date == days[-1]


def test_a_day_counts_only_once_its_btc_day_has_closed():
    btc, eq = hand_calendar()
    evening = datetime(2025, 12, 19, 22, 0, tzinfo=UTC)  # NYSE closed, BTC's 12-19 still running
    state, _ = evaluate_correlation("NVDA", btc, eq, PARAMS, CorrelationState(), evening)
    assert state.last_date == date(2025, 12, 18)
    assert current_correlation(btc, eq, 21, now=evening).end == date(2025, 12, 18)
    state, _ = evaluate_correlation("NVDA", btc, eq, PARAMS, state, evening + timedelta(hours=2))
    assert state.last_date == date(2025, 12, 19)


# ---- the rule on hand-written correlation values --------------------------------------

T0 = date(2025, 9, 1)


def series_of(values: Sequence[float | None], params: CorrelationParams = PARAMS) -> CorrelationSeries:
    """Hand-written 30d values on consecutive sessions, after the window has filled."""
    fill = [None] * (params.window - 1)
    dates = tuple(trading_days(T0, T0 + DAY * 400)[: len(fill) + len(values)])
    padded = tuple(fill) + tuple(values)
    longer = {w: tuple(v if v is None else v / 2 for v in padded) for w in params.windows[1:]}
    return CorrelationSeries(dates=dates, values={params.window: padded, **longer})


def run_daily(values: Sequence[float | None], params: CorrelationParams = PARAMS) -> list[tuple[int, str]]:
    """The bot evaluating once a session, restarting (state through JSON) every time."""
    full = series_of(values, params)
    state, seen = CorrelationState(), []
    for i in range(len(full.dates)):
        upto = CorrelationSeries(full.dates[: i + 1], {w: v[: i + 1] for w, v in full.values.items()})
        state = through_store(state)
        state, alerts = apply_rule("NVDA", upto, params, state, after_close(full.dates[i]))
        n = i - (params.window - 1)
        seen += [(n, f"spike {a.trigger}" if isinstance(a, CorrelationSpike) else "resolved") for a in alerts]
    return seen


def test_threshold_crossing_fires_once_and_resolves_below_threshold_minus_band():
    #         0     1     2     3     4     5     6     7     8     9     10    11
    values = [0.50, 0.60, 0.65, 0.72, 0.80, 0.75, 0.69, 0.65, 0.61, 0.59, 0.62, 0.71]
    assert run_daily(values) == [(3, "spike threshold"), (9, "resolved"), (11, "spike threshold")]


def test_jump_of_at_least_0_4_within_10_sessions_fires():
    assert run_daily([0.10, 0.20, 0.15, 0.30, 0.45, 0.55]) == [(5, "spike jump")]
    assert run_daily([0.20, 0.40, 0.60]) == [(2, "spike jump")]  # exactly 0.4 (0.39999999999999997)


def test_a_jump_that_lands_below_threshold_minus_jump_is_not_a_spike():
    # ORCL in March 2025 rose from -0.36 to 0.04: a big change, but BTC is not trading with it
    assert run_daily([-0.36, -0.20, 0.04]) == []
    assert run_daily([-0.10, 0.10, 0.30]) == [(2, "spike jump")]  # lands on the 0.3 floor


def test_smaller_or_slower_rises_do_not_fire():
    assert run_daily([0.20, 0.35, 0.59]) == []  # 0.39
    slow = [0.10, 0.15, 0.19, 0.23, 0.27, 0.31, 0.35, 0.39, 0.43, 0.47, 0.49, 0.53]
    assert run_daily(slow) == []  # 0.43 in 11 sessions, never 0.4 within 10


def test_jump_spike_below_threshold_resolves_below_its_firing_value_minus_band():
    # fired at 0.55: resolves below min(0.55 - 0.1, 0.7 - 0.1) = 0.45, not at 0.5
    values = [0.10, 0.20, 0.15, 0.30, 0.45, 0.55, 0.50, 0.47, 0.44]
    assert run_daily(values) == [(5, "spike jump"), (8, "resolved")]


def test_a_fall_that_resolves_cannot_refire_as_a_jump_at_once():
    values = [0.20, 0.40, 0.75, 0.80, 0.55, 0.62, 0.66, 0.60, 0.25, 0.68]
    assert run_daily(values) == [(2, "spike threshold"), (4, "resolved"), (9, "spike jump")]


def test_missing_values_neither_fire_nor_resolve():
    values = [0.30, None, 0.80, 0.85, None, 0.55, None, 0.65, 0.75]
    assert run_daily(values) == [(2, "spike jump"), (5, "resolved"), (8, "spike threshold")]


def test_restart_between_evaluations_neither_repeats_nor_forgets():
    values = [0.50, 0.60, 0.72, 0.80, 0.75, 0.55]
    full = series_of(values)
    cut = len(full.dates) - 3  # up to the 0.72 crossing
    first = CorrelationSeries(full.dates[:cut], {w: v[:cut] for w, v in full.values.items()})
    now = after_close(first.dates[-1])
    state, alerts = apply_rule("NVDA", first, PARAMS, CorrelationState(), now)
    assert [a.value for a in alerts] == [0.72]
    restored = through_store(state)
    assert restored == state
    assert apply_rule("NVDA", first, PARAMS, restored, now) == (restored, [])  # same data: nothing new
    state, alerts = apply_rule("NVDA", full, PARAMS, through_store(state), now)
    assert [(type(a), a.value) for a in alerts] == [(CorrelationResolved, 0.55)]  # still knew it was active


def test_catching_up_alerts_only_for_the_latest_date():
    values = [0.50, 0.60, 0.72, 0.80, 0.75, 0.70, 0.66]
    full = series_of(values)
    state = CorrelationState(last_date=full.dates[-7])  # last run saw 0.50; the 0.72 crossing is stale
    state, alerts = apply_rule("NVDA", full, PARAMS, state, after_close(full.dates[-1]))
    assert alerts == [] and state.active and state.last_date == full.dates[-1]
    # a crossing on the latest date of a catch-up does alert, once
    state = CorrelationState(last_date=full.dates[-7])
    latest = CorrelationSeries(full.dates[:-4], {w: v[:-4] for w, v in full.values.items()})
    state, alerts = apply_rule("NVDA", latest, PARAMS, state, after_close(latest.dates[-1]))
    assert [a.value for a in alerts] == [0.72]


# ---- alerts from prices ---------------------------------------------------------------


def coupling_scenario():
    """BTC moves at random; NVDA moves on its own, then from 2025-08-01 mostly with BTC."""
    rng = np.random.default_rng(11)
    btc_days = calendar_days(date(2025, 4, 1), date(2025, 9, 30))
    btc_path = 90_000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(btc_days))))
    btc_close = dict(zip(btc_days, btc_path, strict=True))
    eq_days = trading_days(date(2025, 4, 1), date(2025, 9, 30), [date(2025, 5, 26), date(2025, 7, 4)])
    closes = [150.0]
    for prev, day in itertools.pairwise(eq_days):
        btc_move = math.log(btc_close[day] / btc_close[prev])
        own = rng.normal(0, 0.025)
        closes.append(closes[-1] * math.exp(btc_move + own / 4 if day >= date(2025, 8, 1) else own))
    return bars("BTC", btc_days, list(btc_close.values())), bars("NVDA", eq_days, closes), eq_days


def test_prices_that_start_moving_together_send_one_spike_with_its_facts():
    btc, eq, sessions = coupling_scenario()
    params = CorrelationParams(threshold=0.7, jump=2.0)  # a jump of 2 cannot happen: threshold only
    ref21, ref63 = pandas_corr(btc, eq, 21), pandas_corr(btc, eq, 63)
    crossings = [i for i in range(1, len(ref21)) if ref21.iloc[i - 1] < 0.7 <= ref21.iloc[i]]
    assert crossings, "the scenario must cross the threshold"
    fire = crossings[0]
    state, sent = CorrelationState(), []
    for day in sessions:  # once a session; every bar, future ones too, is passed each time
        now = after_close(day)
        state, alerts = evaluate_correlation("NVDA", btc, eq, params, state, now)
        sent += alerts
        assert evaluate_correlation("NVDA", btc, eq, params, state, now) == (state, [])
    assert len(sent) == 1 and isinstance(sent[0], CorrelationSpike)
    spike, end = sent[0], ref21.index[fire]
    assert spike.trigger == "threshold" and spike.symbol == "NVDA" and spike.window == 21
    assert spike.time == after_close(end) and spike.end == end and spike.start == ref21.index[fire - 20]
    assert spike.value == pytest.approx(ref21.iloc[fire], abs=1e-9)
    assert spike.previous == pytest.approx(ref21.iloc[fire - 1], abs=1e-9)
    assert spike.change_10d == pytest.approx(ref21.iloc[fire] - ref21.iloc[fire - 10 : fire].min(), abs=1e-9)
    assert spike.windows == pytest.approx({"21": ref21.iloc[fire], "63": ref63.iloc[fire]}, abs=1e-9)
    assert str(spike.key) == f"correlation_spike:NVDA:0.7/2/21:-:{end.isoformat()}"
    assert state.active and state.fired_on == end


def test_a_fresh_bot_on_real_2025_data_alerts_in_pairs_and_never_twice():
    btc = real_data().series("BTC", "1d")
    for symbol in EQUITIES:
        eq = real_data().series(symbol, "1d")
        state, kinds = CorrelationState(), []
        for bar in eq:
            state, alerts = evaluate_correlation(symbol, btc, eq, PARAMS, state, after_close(bar.ts.date()))
            kinds += [a.kind for a in alerts]
            for a in alerts:
                assert set(a.windows) == {"21", "63"} and a.end == bar.ts.date() and -1 <= a.value <= 1
        assert all(a != b for a, b in itertools.pairwise(kinds)), (symbol, kinds)
        assert not kinds or kinds[0] == "correlation_spike"


# ---- parameters and state --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0},
        {"threshold": 1.01},
        {"jump": 0},
        {"jump": 2.5},
        {"windows": (21, 4)},
        {"windows": ()},
        {"jump_sessions": 0},
        {"band": -0.1},
        {"threshold": float("nan")},
    ],
)
def test_bad_params_are_refused(kwargs):
    with pytest.raises(ValueError):
        CorrelationParams(**kwargs)


def test_params_watch_the_shortest_window():
    params = CorrelationParams(threshold=1.0, jump=2.0, windows=(63, 21, 63))
    assert params.windows == (21, 63) and params.window == 21


def test_state_round_trips_through_the_store():
    state = CorrelationState(date(2025, 12, 11), True, "jump", 0.55, date(2025, 12, 10), date(2025, 11, 3))
    assert through_store(state) == state
    assert through_store(CorrelationState()) == CorrelationState()
