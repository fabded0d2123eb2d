"""Large moves: a 24 h move fires once per move (re-armed at half the threshold or a day later),
an equity's move is measured from the previous session's close once per session and direction,
thresholds in % or σ."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules import large_move
from bot.rules.large_move import MoveState, evaluate_large_move, session_move
from bot.rules.sessions import SessionPrices
from bot.store import open_db, outbox
from bot.store.outbox import RuleKey
from bot.values import Threshold

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


def armed(state: MoveState) -> tuple[bool, bool]:
    return state.up_armed, state.down_armed


def test_state_says_which_sides_have_fired():
    assert armed(run([106])[0]) == (False, True)
    assert run([106, 102])[0] == MoveState()
    assert armed(run([93, 97])[0]) == (True, False)  # -3 % is not back under 2.5 %
    assert run([93, 97.6])[0] == MoveState()


def test_a_fall_that_goes_on_is_news_again_a_day_after_it_was_told():
    """Re-armed 24 h after it fired even if the 24 h move never fell back under half the threshold."""
    hourly = [(T0 + timedelta(hours=h), 100.0 * 0.9975**h) for h in range(80)]  # -5.8 % a day, for days
    state, fired = MoveState(), []
    for now, _ in hourly:
        state, alerts = evaluate_large_move("BTC", hourly, 5.0, state, now)
        fired += [(a.time - T0) / timedelta(hours=1) for a in alerts]
    assert fired == [24.0, 48.0, 72.0]


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
        "setting": "",
        "sigma_pct": None,
        "session": None,
        "prior_session": None,
        "complete": True,
    }
    assert str(alert.key) == "large_move:BTC:5:up:2025-11-21T00:10"
    assert state == MoveState(up_armed=False, up_fired=T0 + DAY + 2 * STEP)


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


def session(move_to: float, *, complete: bool = True, prior: date = date(2025, 3, 28)) -> SessionPrices:
    return SessionPrices("AMD", date(2025, 3, 31), 100.0, 99.0, move_to, complete, prior)


def test_an_equity_move_is_measured_from_the_previous_session_close_once_a_session_each_way():
    now = datetime(2025, 3, 31, 20, 0, tzinfo=UTC)
    alert = session_move(session(106.0), 5.0, now, sigma_pct=2.0, setting="3σ")
    assert alert is not None
    assert (alert.direction, alert.move_pct, alert.reference_price, alert.prior_session, alert.sigmas) == (
        "up",
        pytest.approx(6.0),
        100.0,
        date(2025, 3, 28),
        pytest.approx(3.0),
    )
    assert str(alert.key) == "large_move:AMD:3σ:up:2025-03-31"  # one per session and direction
    assert session_move(session(104.9), 5.0, now) is None
    assert session_move(session(95.0), 5.0, now).direction == "down"


@pytest.mark.parametrize(
    ("setting", "sigma", "fires_at"),
    [
        (Threshold(5, "%"), 1.0, 5.0),
        (Threshold(3, "σ"), 2.0, 6.0),  # 3 × σ
        (Threshold(3, "σ"), 1.0, 3.0),
        (Threshold(3, "σ"), None, 5.0),  # σ unknown: the bot's MOVE_PCT
    ],
)
def test_the_threshold_is_in_percent_or_in_sigmas_of_the_name(setting, sigma, fires_at):
    now = datetime(2025, 3, 31, 20, 0, tzinfo=UTC)
    for move, fires in ((fires_at - 0.01, False), (fires_at + 0.01, True)):
        inputs = large_move.Inputs("AMD", sigma, 5.0, session=session(100.0 + move))
        _, outs = large_move.evaluate(inputs, MoveState(), setting, now)
        assert bool(outs) == fires, (setting, sigma, move)


def test_the_message_says_since_when_and_how_many_sigmas():
    now = datetime(2025, 3, 31, 20, 0, tzinfo=UTC)
    closed = session_move(session(108.8), 5.0, now, sigma_pct=3.4, setting="3σ")
    running = session_move(session(91.0, complete=False), 5.0, now, sigma_pct=None)
    assert large_move.render(closed, "en", UTC) == [
        "🚀 AMD +8.8 % since Friday's close (2.6σ)",
        "Close 108.80 · Friday's close 100.00",
        "Its usual daily move (σ, 60 sessions): 3.4 %",
    ]
    assert large_move.render(running, "en", UTC) == [
        "📉 AMD −9.0 % since Friday's close",
        "Price 91.00 · Friday's close 100.00",
    ]
    assert large_move.render(closed, "zh", UTC)[0] == "🚀 AMD 较周五收盘上涨 8.8%（2.6σ）"


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
