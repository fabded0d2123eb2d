"""Bounded exponential backoff with full jitter.

Usage::

    backoff = Backoff(base=1, cap=60, rng=random.Random(42))
    await sleep(backoff.next_delay())   # uniform in [0, 1), then [0, 2), [0, 4) ... [0, 60)
    backoff.reset()                     # after a success

"Full jitter" (AWS Architecture Blog, *Exponential Backoff And Jitter*) draws each
delay uniformly between zero and the current ceiling, so many clients that failed
together do not retry together. Pure arithmetic: no sleeping and no clock in here.
"""

from __future__ import annotations

import random
from typing import Protocol


def capped_exponential(attempt: int, base: float, cap: float, factor: float = 2.0) -> float:
    """``min(cap, base * factor**attempt)``, without overflowing for a large ``attempt``."""
    bound = base
    for _ in range(max(0, attempt)):
        bound *= factor
        if bound >= cap:
            return cap
    return min(bound, cap)


class RandomSource(Protocol):
    def random(self) -> float:
        """A float in [0, 1)."""


class Backoff:
    """Delays for successive retries: ``uniform(0, min(cap, base * factor**n))``."""

    def __init__(
        self,
        base: float = 1.0,
        cap: float = 60.0,
        rng: RandomSource | None = None,
        factor: float = 2.0,
    ) -> None:
        if base <= 0 or cap < base or factor <= 1:
            raise ValueError("backoff needs 0 < base <= cap and factor > 1")
        self.base = float(base)
        self.cap = float(cap)
        self.factor = float(factor)
        self._rng: RandomSource = rng if rng is not None else random.Random()
        self._exponent = 0
        self.attempts = 0
        """Delays handed out since the last :meth:`reset`."""

    def ceiling(self) -> float:
        """Upper bound of the next delay."""
        return capped_exponential(self._exponent, self.base, self.cap, self.factor)

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call raises the ceiling."""
        ceiling = self.ceiling()
        self.attempts += 1
        if ceiling < self.cap:
            self._exponent += 1
        return self._rng.random() * ceiling

    def reset(self) -> None:
        """Start again from ``base`` (call after a success)."""
        self._exponent = 0
        self.attempts = 0
