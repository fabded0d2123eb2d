"""Validation of what sources return: neither ccxt nor yfinance reliably raises on bad data.

A value that is ``None``, NaN, infinite, zero or negative is not a price. A price
that jumps more than ``max_jump_pct`` against the last good one is rejected too
(a bad print is far more likely than a 20 % move between two polls). If the
market really moved that far, the guard re-anchors once ``confirmations``
consecutive rejected prices agree with each other within 1 %: a real level is
confirmed by the next polls, a bad print is not. A bar's wick that reaches more than
``max_jump_pct`` beyond its open and close is a bad print of the same kind (one exchange's
flash crash, not the market's): :func:`believable_extremes` cuts it back to the bar's body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


def as_price(value: Any) -> float | None:
    """``value`` as a positive finite float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return number


def valid_ohlc(open_: Any, high: Any, low: Any, close: Any) -> tuple[float, float, float, float] | None:
    """The four prices as floats if they form a possible bar, else None."""
    o, h, lo, c = (as_price(v) for v in (open_, high, low, close))
    if o is None or h is None or lo is None or c is None:
        return None
    if h < max(o, c, lo) or lo > min(o, c, h):
        return None
    return o, h, lo, c


def believable_extremes(open_: float, high: float, low: float, close: float, max_jump: float) -> tuple[float, float]:
    """High and low of a valid bar, each cut back to the body (open and close) if it reaches more
    than ``max_jump`` (a fraction) beyond it."""
    top, bottom = max(open_, close), min(open_, close)
    return (top if high > top * (1 + max_jump) else high), (bottom if low < bottom * (1 - max_jump) else low)


class JumpGuard:
    """Rejects a price that moved more than ``max_jump_pct`` from the last accepted one."""

    def __init__(self, max_jump_pct: float, confirmations: int = 3) -> None:
        self.max_jump = max_jump_pct / 100.0
        self.confirmations = confirmations
        self._last: dict[str, float] = {}
        self._rejected: dict[str, list[float]] = {}
        self._explained: frozenset[str] = frozenset()

    def explain(self, keys: Iterable[str]) -> None:
        """A large move of these is expected (a company just reported): taken at once, not held
        for confirmation. Replaces the previous set."""
        self._explained = frozenset(keys)

    def seed(self, key: str, price: float) -> None:
        """Remember a known good price (e.g. the last stored close after a restart)."""
        self._last[key] = price

    def accept(self, key: str, value: Any, source: str = "") -> float | None:
        price = as_price(value)
        if price is None:
            log.warning("%s: rejected %s price %r (not a positive number)", source or "source", key, value)
            return None
        last = self._last.get(key)
        if last is not None and abs(price / last - 1) > self.max_jump and key in self._explained:
            log.info("%s: %s at %s, %.1f%% from %s: taken at once (a report explains it)",
                     source or "source", key, price, (price / last - 1) * 100, last)  # fmt: skip
        elif last is not None and abs(price / last - 1) > self.max_jump:
            rejected = self._rejected.setdefault(key, [])
            rejected.append(price)
            del rejected[: -self.confirmations]
            if len(rejected) == self.confirmations and max(rejected) <= min(rejected) * 1.01:
                log.warning("%s: %s confirmed at a new level %s (was %s)", source or "source", key, price, last)
            else:
                log.warning(
                    "%s: rejected %s price %s: %.1f%% away from the last good %s",
                    source or "source",
                    key,
                    price,
                    (price / last - 1) * 100,
                    last,
                )
                return None
        self._rejected.pop(key, None)
        self._last[key] = price
        return price
