"""Large 24 h moves: once per move, re-armed at half the threshold, both directions, JSON state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.large_move import MoveState, evaluate_large_move
from bot.store import open_db, outbox
from bot.store.outbox import RuleKey

T0 = datetime(2025, 11, 20, 0, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
STEP = timedelta(minutes=10)

ARMED = MoveState()


def run(prices: list[float], threshold: float = 5.0, state: MoveState = ARMED):
    """Reference 100 at T0, then one observation (and one evaluation) every 10 minutes from T0 + 24 h.

    Every evaluation's reference is the price at T0 (the later ones are all less than 24 h old).
    Returns the final state and, per evaluation, None or (direction, rounded move %).
    """
    observations = [(T0, 100.0)]
    seen = []
    for i, price in enumerate(prices):
        now = T0 + DAY + i * STEP
        observations.append((now, price))
        state, alerts = evaluate_large_move("BTC", observations, threshold, state, now)
        assert len(alerts) <= 1
        seen.append((alerts[0].direction, round(alerts[0].move_pct, 6)) if alerts else None)
    return state, seen


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ([104.99, 105.0], [None, ("up", 5.0)]),  # the threshold itself counts
        ([95.01, 95.0], [None, ("down", -5.0)]),
        # fires once, stays quiet while the move holds, re-arms below half the threshold (2.5 %)
        ([106, 107, 104, 102.6, 107, 102, 106], [("up", 6.0), None, None, None, None, None, ("up", 6.0)]),
        # the same for a fall: -4 % is not back under -2.5 %, -2 % is
        ([94, 93, 96, 94.9, 98, 94.9], [("down", -6.0), None, None, None, None, ("down", -5.1)]),
        # each direction has its own trigger; a swing through zero also re-arms the side that fired
        ([106, 94, 93, 106], [("up", 6.0), ("down", -6.0), None, ("up", 6.0)]),
    ],
)
def test_fires_once_per_move_in_each_direction(prices, expected):
    assert run(prices)[1] == expected


def test_state_says_which_sides_have_fired():
    assert run([106])[0] == MoveState(up_armed=False, down_armed=True)
    assert run([106, 102])[0] == MoveState()
    assert run([93, 97])[0] == MoveState(up_armed=True, down_armed=False)  # -3 % is not back under 2.5 %
    assert run([93, 97.6])[0] == MoveState()


def test_the_alert_carries_price_reference_and_threshold():
    observations = [(T0, 100.0), (T0 + timedelta(hours=12), 103.0), (T0 + DAY + STEP, 106.5)]
    state, (alert,) = evaluate_large_move("BTC", observations, 5.0, MoveState(), T0 + DAY + 2 * STEP)
    assert alert.to_record() == {
        "time": "2025-11-21T00:10:00Z",  # when the price was seen, not when the rule ran
        "kind": "large_move",
        "symbol": "BTC",
        "direction": "up",
        "move_pct": 6.5,
        "price": 106.5,
        "reference_price": 100.0,
        "reference_time": "2025-11-20T00:00:00Z",
        "threshold_pct": 5.0,
        "hours": 24,
    }
    assert str(alert.key) == "large_move:BTC:5:up:2025-11-21T00:10"
    assert state == MoveState(up_armed=False)


def test_reference_is_the_last_observation_at_or_before_24_hours_ago():
    now = T0 + DAY + timedelta(hours=1)
    observations = [
        (now - timedelta(hours=25), 90.0),
        (now - DAY, 100.0),  # exactly 24 h before: this one
        (now - timedelta(hours=23), 200.0),
        (now, 94.0),
        (now + STEP, 50.0),  # after now: not seen yet
    ]
    _, (alert,) = evaluate_large_move("ETH", observations, 5.0, MoveState(), now)
    assert (alert.direction, alert.reference_price, alert.reference_time, alert.price) == (
        "down",
        100.0,
        now - DAY,
        94.0,
    )
    assert alert.move_pct == pytest.approx(-6.0)


@pytest.mark.parametrize(
    "observations",
    [
        [],
        [(T0 + timedelta(hours=1), 100.0), (T0 + DAY, 120.0)],  # less than 24 h of history
        [(T0 + DAY + STEP, 100.0)],  # only the future
    ],
)
def test_no_reference_no_alert(observations):
    state = MoveState(up_armed=False)
    assert evaluate_large_move("BTC", observations, 5.0, state, T0 + DAY) == (state, [])


def test_equity_overnight_reference_is_the_previous_close():
    # NVDA quotes: Mon 12-08 close 100 (21:00 UTC), Tue 12-09 from the open to the close.
    mon_close = datetime(2025, 12, 8, 21, 0, tzinfo=UTC)
    tue = [
        (datetime(2025, 12, 9, 14, 30, tzinfo=UTC) + k * timedelta(hours=1), p)
        for k, p in enumerate([101.0, 103.0, 104.0, 105.5, 106.0, 106.0])
    ]
    observations = [
        (mon_close - timedelta(hours=6), 99.0),
        (mon_close, 100.0),
        *tue,
        (datetime(2025, 12, 9, 21, 0, tzinfo=UTC), 106.2),
    ]
    # After Tuesday's close, 24 h back is Monday evening: the reference is Monday's close.
    _, (alert,) = evaluate_large_move("NVDA", observations, 5.0, MoveState(), datetime(2025, 12, 9, 23, 0, tzinfo=UTC))
    assert (alert.reference_price, alert.reference_time, alert.price) == (100.0, mon_close, 106.2)
    # Over a weekend the reference is Friday's close, seen from Monday.
    fri_close = datetime(2025, 12, 12, 21, 0, tzinfo=UTC)
    weekend = [(fri_close, 100.0), (datetime(2025, 12, 15, 14, 31, tzinfo=UTC), 94.0)]
    _, (alert,) = evaluate_large_move("NVDA", weekend, 5.0, MoveState(), datetime(2025, 12, 15, 15, 0, tzinfo=UTC))
    assert (alert.direction, alert.reference_time) == ("down", fri_close)


@pytest.mark.parametrize(
    "state",
    [MoveState(), MoveState(up_armed=False), MoveState(down_armed=False), MoveState(False, False)],
)
def test_state_round_trips_through_the_store(state):
    db = open_db(":memory:")
    key = RuleKey("move", "BTC", "5")
    outbox.save_state(db, key, state, T0)
    assert outbox.load_state(db, key, MoveState) == state


@pytest.mark.parametrize(
    ("observations", "threshold", "now", "message"),
    [
        ([(T0 + STEP, 1.0), (T0, 1.0)], 5.0, T0 + DAY, "time order"),
        ([(T0, 1.0)], 0.0, T0 + DAY, "threshold"),
        ([(T0, 1.0)], 5.0, datetime(2025, 11, 21), "timezone-aware"),
        ([(datetime(2025, 11, 20), 1.0)], 5.0, T0 + DAY, "timezone-aware"),
        ([(T0, 0.0), (T0 + DAY, 1.0)], 5.0, T0 + DAY, "positive"),
    ],
)
def test_bad_input_is_refused(observations, threshold, now, message):
    with pytest.raises(ValueError, match=message):
        evaluate_large_move("BTC", observations, threshold, MoveState(), now)


@given(st.lists(st.floats(min_value=80.0, max_value=120.0), max_size=40))
def test_each_side_fires_once_until_the_move_falls_back_below_half(prices):
    """Property: a side fires at the threshold unless it fired since the move was last under half of it."""
    _, seen = run(prices)
    fired_since_fallback = {"up": False, "down": False}
    for price, alert in zip(prices, seen, strict=True):
        move = (price / 100.0 - 1) * 100
        for side, past, fell_back in (("up", move >= 5.0, move < 2.5), ("down", move <= -5.0, move > -2.5)):
            fires = alert is not None and alert[0] == side
            assert fires == (past and not fired_since_fallback[side])
            if fires:
                fired_since_fallback[side] = True
            elif fell_back:
                fired_since_fallback[side] = False
