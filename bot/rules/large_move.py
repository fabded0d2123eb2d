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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, Direction, UtcTime, minute_period, num
from bot.formatting import fmt_price, fmt_symbol, fmt_time, headline_pct
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.values import Threshold, threshold


@dataclass(frozen=True, slots=True)
class LargeMove(AlertBase):
    kind: ClassVar[AlertKind] = "large_move"
    symbol: str
    time: UtcTime
    direction: Direction
    move_pct: float  # signed
    price: float
    reference_price: float  # the price ``hours`` earlier
    reference_time: UtcTime
    threshold_pct: float
    hours: int = 24

    @property
    def param(self) -> str:
        return num(self.threshold_pct)

    @property
    def period(self) -> str:
        return minute_period(self.time)  # when the move first passed the threshold


KINDS = (LargeMove,)
NAME = "large_move"
MUTE_GROUP = "move"
LOOKBACK = timedelta(hours=30)
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "move",
        Threshold,
        threshold,
        default=lambda settings: Threshold(settings.move_pct, "%"),
        label="setting.move",
        help="set.help.move",
        example="/set move 5",
        aliases=("move_pct", "moves"),
    ),
)

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


State = MoveState


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    observations: tuple[Observation, ...]


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["move"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    touched = {b.symbol for b in tick.bars} | {q.symbol for q in tick.quotes}
    return sorted(s for s in touched if tick.fresh(s))


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    return Inputs(scope, tuple(view.prices(scope, tick.now - LOOKBACK, tick.now)))


def evaluate(inputs: Inputs, state: MoveState, params: Threshold, now: datetime) -> tuple[MoveState, list[Out]]:
    pct = params.pct(None)
    if pct is None:
        return state, []
    state, alerts = evaluate_large_move(inputs.symbol, inputs.observations, pct, state, now)
    return state, [Out(alert) for alert in alerts]


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, LargeMove)
    way = "down" if alert.direction == "down" else "up"
    prices = {
        "price": fmt_price(alert.price, lang),
        "reference": fmt_price(alert.reference_price, lang),
        "reference_time": fmt_time(alert.reference_time, tz, lang),
    }
    return [
        t(
            lang,
            f"alert.move.{way}",
            symbol=fmt_symbol(alert.symbol),
            move=headline_pct(alert.move_pct, lang),
            hours=alert.hours,
        ),
        t(lang, "alert.move.prices", hours=alert.hours, **prices),
    ]
