"""Large moves: a name moving more than the chat's threshold, in % or in σ of its own daily returns.

*What a move is measured from.* An equity's move is its price against the **previous
session's close** (Friday's close on a Monday, Wednesday's after a Thursday holiday),
judged on the session's daily bar once it closes, or on its quotes while it trades.
Each session and direction fires once (the alert's key holds the session), so a
two-day run is told on both days. A name that trades around the clock (BTC) is measured
over the **last 24 hours**: the latest price against the last one seen at or before
``now − 24 h``. Its trigger fires once and re-arms when the 24 h move falls back under
half the threshold, or 24 hours after it fired (a fall that goes on is news again
the next day).

*How large.* ``/set move 5%`` is a percentage; ``/set move 3σ`` is three standard
deviations of the name's last 60 daily returns (σ needs at least 20; without them the
bot's ``MOVE_PCT`` is used). Every alert shows both: ``+8.8 % (2.6σ)``.

A name's large move that is part of an earnings shock, a gap or a market-wide move of
the same session is folded into that message by the engine (:mod:`bot.engine.echoes`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any, ClassVar

from bot.domain import AlertBase, AlertKind, Direction, UtcTime, minute_period, num
from bot.formatting import fmt_pct, fmt_price, fmt_sigmas, fmt_symbol, fmt_time, fmt_weekday, headline_pct
from bot.i18n import t
from bot.markettime import as_utc
from bot.rules.contract import MarketView, Out, Setting, Tick
from bot.rules.sessions import SessionPrices, closes_before_session, current_session, daily_sigma
from bot.values import Threshold, threshold


@dataclass(frozen=True, slots=True)
class LargeMove(AlertBase):
    kind: ClassVar[AlertKind] = "large_move"
    symbol: str
    time: UtcTime
    direction: Direction
    move_pct: float  # signed
    price: float
    reference_price: float  # the previous session's close, or the price 24 h earlier
    reference_time: UtcTime | None  # when ``reference_price`` was seen (a 24 h move)
    threshold_pct: float  # the threshold in % it was judged by
    hours: int = 24
    setting: str = ""  # the chat's threshold as set: "5%", "3σ"
    sigma_pct: float | None = None  # σ of the name's last 60 daily returns, in %
    session: date | None = None  # an equity's session (None: a 24 h move)
    prior_session: date | None = None  # the session of ``reference_price``
    complete: bool = True  # the session had closed (False: the latest price of a running session)

    @property
    def param(self) -> str:
        return self.setting or num(self.threshold_pct)

    @property
    def period(self) -> str:
        # a session's move is told once per direction; a 24 h move when it first passed the threshold
        return self.session.isoformat() if self.session else minute_period(self.time)

    @property
    def sigmas(self) -> float | None:
        """The move in σ of the name's daily returns."""
        return self.move_pct / self.sigma_pct if self.sigma_pct else None


KINDS = (LargeMove,)
NAME = "large_move"
MUTE_GROUP = "move"
LOOKBACK = timedelta(hours=30)
HISTORY = timedelta(days=120)  # daily bars for σ (60 sessions) and the previous close
SETTINGS: tuple[Setting[Any], ...] = (
    Setting(
        "move",
        Threshold,
        threshold,
        default=lambda settings: settings.move_threshold,
        label="setting.move",
        help="set.help.move",
        example="/set move 3σ",
        aliases=("move_pct", "moves"),
    ),
)

Observation = tuple[datetime, float]
"""A price and the time it was seen (a quote's time, or the time a bar closed)."""

WINDOW_HOURS = 24
REARM_FRACTION = 0.5  # a fired direction re-arms below this fraction of the threshold...
REARM_AFTER = timedelta(hours=WINDOW_HOURS)  # ...or this long after it fired
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MoveState:
    """Which directions of a 24 h move may fire; False: it fired and has not re-armed yet."""

    up_armed: bool = True
    down_armed: bool = True
    up_fired: datetime | None = None
    down_fired: datetime | None = None


def evaluate_large_move(
    symbol: str,
    observations: Sequence[Observation],
    threshold_pct: float,
    state: MoveState,
    now: datetime,
    *,
    sigma_pct: float | None = None,
    setting: str = "",
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

    def rearmed(fired_at: datetime | None, back: bool) -> bool:
        return back or (fired_at is not None and now - fired_at >= REARM_AFTER)

    up, down, up_at, down_at = state.up_armed, state.down_armed, state.up_fired, state.down_fired
    if not up and rearmed(up_at, move < rearm):
        up, up_at = True, None
    if not down and rearmed(down_at, move > -rearm):
        down, down_at = True, None
    fired: Direction | None = None
    if up and move >= threshold_pct:
        up, up_at, fired = False, now, "up"
    if down and move <= -threshold_pct:
        down, down_at, fired = False, now, "down"
    new_state = MoveState(up, down, up_at, down_at)
    if fired is None:
        return new_state, []
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
        setting=setting,
        sigma_pct=sigma_pct,
    )
    return new_state, [alert]


def session_move(
    prices: SessionPrices, threshold_pct: float, now: datetime, *, sigma_pct: float | None = None, setting: str = ""
) -> LargeMove | None:
    """A :class:`LargeMove` if the session's move since the previous close reaches the threshold."""
    move = prices.move_pct
    if abs(move) < threshold_pct or prices.prior_session is None:
        return None
    return LargeMove(
        symbol=prices.symbol,
        time=as_utc(now),
        direction="up" if move > 0 else "down",
        move_pct=move,
        price=prices.price,
        reference_price=prices.prior_close,
        reference_time=None,
        threshold_pct=threshold_pct,
        setting=setting,
        sigma_pct=sigma_pct,
        session=prices.session,
        prior_session=prices.prior_session,
        complete=prices.complete,
    )


# -- the rule contract -------------------------------------------------------------------

State = MoveState


@dataclass(frozen=True, slots=True)
class Inputs:
    symbol: str
    sigma_pct: float | None  # σ of the daily returns before now (before the session, for an equity)
    fallback_pct: float  # the threshold in % while σ is not known
    observations: tuple[Observation, ...] = ()  # a 24 h move: the prices of the last 30 h
    session: SessionPrices | None = None  # an equity: its session so far


def params(values: Mapping[str, Any]) -> Threshold:
    value = values["move"]
    assert isinstance(value, Threshold)
    return value


def scopes(tick: Tick) -> Iterable[str]:
    touched = {b.symbol for b in tick.bars} | {q.symbol for q in tick.quotes}
    return sorted(s for s in touched if tick.fresh(s))


def inputs(view: MarketView, tick: Tick, scope: str, params: Threshold) -> Inputs:
    daily = view.daily(scope, tick.now - HISTORY)
    fallback = view.settings.move_pct
    if scope in tick.crypto:
        closes = [bar.close for bar in daily if bar.ts + DAY <= tick.now]  # a crypto day closes at midnight
        observations = tuple(view.prices(scope, tick.now - LOOKBACK, tick.now))
        return Inputs(scope, daily_sigma(closes), fallback, observations=observations)
    prices = current_session(view, tick, scope, daily)
    if prices is None:
        return Inputs(scope, None, fallback)
    return Inputs(scope, daily_sigma(closes_before_session(daily, prices.session)), fallback, session=prices)


def evaluate(inputs: Inputs, state: MoveState, params: Threshold, now: datetime) -> tuple[MoveState, list[Out]]:
    pct = params.pct(inputs.sigma_pct) or inputs.fallback_pct
    setting = str(params)
    if inputs.session is not None:
        alert = session_move(inputs.session, pct, now, sigma_pct=inputs.sigma_pct, setting=setting)
        return state, [] if alert is None else [Out(alert)]
    if not inputs.observations:
        return state, []
    state, alerts = evaluate_large_move(
        inputs.symbol, inputs.observations, pct, state, now, sigma_pct=inputs.sigma_pct, setting=setting
    )
    return state, [Out(alert) for alert in alerts]


def sigmas_text(move_pct: float, sigma_pct: float | None, lang: str) -> str:
    """`` (2.6σ)``: a move in σ of the name's daily returns; nothing when σ is not known."""
    return t(lang, "alert.move.sigmas", sigmas=fmt_sigmas(move_pct / sigma_pct, lang)) if sigma_pct else ""


def render(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    assert isinstance(alert, LargeMove)
    a = alert
    way = "down" if a.direction == "down" else "up"
    symbol, sigmas = fmt_symbol(a.symbol), sigmas_text(a.move_pct, a.sigma_pct, lang)
    move = headline_pct(a.move_pct, lang)
    if a.session is not None and a.prior_session is not None:
        day = fmt_weekday(a.prior_session, lang)
        prices = {"price": fmt_price(a.price, lang), "reference": fmt_price(a.reference_price, lang), "day": day}
        lines = [
            t(lang, f"alert.move.session_{way}", symbol=symbol, move=move, day=day, sigmas=sigmas),
            t(lang, "alert.move.close_line" if a.complete else "alert.move.price_line", **prices),
        ]
    else:
        prices = {
            "price": fmt_price(a.price, lang),
            "reference": fmt_price(a.reference_price, lang),
            "reference_time": fmt_time(a.reference_time, tz, lang) if a.reference_time else "",
        }
        lines = [
            t(lang, f"alert.move.{way}", symbol=symbol, move=move, hours=a.hours, sigmas=sigmas),
            t(lang, "alert.move.prices", hours=a.hours, **prices),
        ]
    if a.sigma_pct:
        lines.append(t(lang, "alert.move.sigma_line", sigma=fmt_pct(a.sigma_pct, lang, signed=False)))
    return lines
