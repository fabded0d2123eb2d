"""Clocks: every piece of the bot that needs "now" takes one of these.

Production uses :class:`SystemClock`; tests and replay use :class:`ManualClock`,
which only moves when told to, so nothing in the test suite sleeps on the wall clock.
:class:`SimulatedClock` runs a simulated time at a multiple of real time: the pace of
``python -m bot run --replay``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when :meth:`advance` or :meth:`set` is called."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError("a clock does not run backwards")
        self._now = when


class SimulatedClock:
    """Simulated time = ``start`` + real seconds elapsed since creation × ``speed``.

    ``monotonic`` is the real-time function (seconds); tests pass a fake one.
    """

    def __init__(self, start: datetime, speed: float = 1.0, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number (got {speed!r})")
        self._start = start.astimezone(UTC)
        self._speed = float(speed)
        self._monotonic = monotonic
        self._real_start = monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._real_start) * self._speed)

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds to wait until simulated time reaches ``when`` (0 if it already has)."""
        return max(0.0, (when - self.now()).total_seconds() / self._speed)
