"""Which series are stale: pure functions, the clock and the market calendar passed in.

A series is stale once its last good update is older than ``multiple`` poll
intervals. Equities only go stale while their market is open: a Friday close
is the right price all weekend. A series never updated is missing, which the
engine treats the same way: no alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SeriesPolicy:
    interval: timedelta
    multiple: float
    # None: trades around the clock; else a function giving the open session's start, or None when closed.
    session_open: Callable[[datetime], datetime | None] | None = None

    @property
    def max_age(self) -> timedelta:
        return self.interval * self.multiple


def is_stale(last_update: datetime | None, policy: SeriesPolicy, now: datetime) -> bool:
    if last_update is None:
        return True
    if policy.session_open is None:
        return now - last_update > policy.max_age
    opened = policy.session_open(now)
    if opened is None:  # market closed: the last price stands
        return False
    return now - max(last_update, opened) > policy.max_age


def stale_series(
    last_updates: Mapping[str, datetime | None],
    policies: Mapping[str, SeriesPolicy],
    now: datetime,
) -> dict[str, datetime | None]:
    """Series (with their last update) that must not feed an alert right now."""
    return {
        symbol: last_updates.get(symbol)
        for symbol, policy in policies.items()
        if is_stale(last_updates.get(symbol), policy, now)
    }
