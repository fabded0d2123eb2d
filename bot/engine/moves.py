"""Large moves: a symbol more than ``threshold_pct`` up or down within 24 hours, once per move.

The move compares the latest observed price with the *reference*: the last
observation at or before ``now - 24 h``. Without one (not enough history) nothing
is decided. Observations after ``now`` are ignored.

"Once per move": each direction has its own trigger. After it fires, that
direction is disarmed until the 24 h move falls back below half the threshold
(``move < threshold / 2`` for up, ``move > -threshold / 2`` for down), so a move
hovering around the threshold fires once. A move the other way fires on its own.

Equities have no prices overnight: the reference 24 h back is then the last price
of the session before (its close), which is the usual "since yesterday" figure.

The rule is pure: the caller keeps :class:`MoveState` per symbol and threshold
(stored by the engine as a typed rule state) and passes ``now``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from bot.domain import Direction, LargeMove
from bot.markettime import as_utc

Observation = tuple[datetime, float]
"""A price and the time it was seen (a quote's time, or the time a bar closed)."""

WINDOW_HOURS = 24
REARM_FRACTION = 0.5  # a fired direction re-arms below this fraction of the threshold


@dataclass(frozen=True, slots=True)
class MoveState:
    """Which directions may fire; False means it fired and has not fallen back yet."""

    up_armed: bool = True
    down_armed: bool = True


def evaluate_large_move(
    symbol: str,
    observations: Sequence[Observation],
    threshold_pct: float,
    state: MoveState,
    now: datetime,
) -> tuple[MoveState, list[LargeMove]]:
    """The new state and at most one :class:`LargeMove` for the 24 h move of ``symbol`` at ``now``.

    ``observations`` are time-ordered (oldest first) and should reach back at least
    24 hours. The alert's ``time`` is the latest observation's time, so the same data
    gives the same alert key.
    """
    if not (math.isfinite(threshold_pct) and threshold_pct > 0):
        raise ValueError(f"threshold_pct must be a positive number (got {threshold_pct})")
    now = as_utc(now)
    times = [as_utc(t, "observation time") for t, _ in observations]
    if any(a > b for a, b in pairwise(times)):
        raise ValueError(f"{symbol}: observations must be in time order")
    latest_at = bisect.bisect_right(times, now) - 1
    reference_at = bisect.bisect_right(times, now - timedelta(hours=WINDOW_HOURS)) - 1
    if reference_at < 0:
        return state, []
    price, reference = observations[latest_at][1], observations[reference_at][1]
    if not all(math.isfinite(p) and p > 0 for p in (price, reference)):
        raise ValueError(f"{symbol}: prices must be positive (got {reference} and {price})")
    move = (price / reference - 1.0) * 100.0
    rearm = threshold_pct * REARM_FRACTION

    up, down = state.up_armed, state.down_armed
    fired: Direction | None = None
    if up and move >= threshold_pct:
        up, fired = False, "up"
    elif not up and move < rearm:
        up = True
    if down and move <= -threshold_pct:
        down, fired = False, "down"
    elif not down and move > -rearm:
        down = True
    if fired is None:
        return MoveState(up, down), []
    alert = LargeMove(
        symbol=symbol,
        time=times[latest_at],
        direction=fired,
        move_pct=move,
        price=price,
        reference_price=reference,
        reference_time=times[reference_at],
        threshold_pct=threshold_pct,
        hours=WINDOW_HOURS,
    )
    return MoveState(up, down), [alert]
