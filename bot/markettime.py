"""Market time: UTC, the New York zone, NYSE sessions, and when a bar has closed.

US equity market hours (NYSE, ``XNYS``): sessions, holidays, early closes, DST.

Everything here is pure: the caller passes "now" (a timezone-aware datetime from
the injected clock); nothing reads the wall clock except the default end of the
calendar's range. The ``exchange_calendars`` calendar is built once per range and
turned into sorted lists, so each question is a binary search.

Usage::

    hours = default_market_hours()          # built once, covers 2020 .. today + 1 year
    hours.is_open(clock.now())
    hours.should_poll(clock.now(), last_poll)   # open, or the first poll after a close
    hours.report_timing(report_time)            # "before_open" / "after_close" / "unknown"
    bar_close_time(bar, hours, around_the_clock=False)   # when a bar may be seen

A question about an instant outside the calendar's range raises
:class:`CalendarRangeError` instead of silently answering "closed".
"""

from __future__ import annotations

import bisect
import functools
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import Bar, EarningsTiming, Interval

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
DEFAULT_FIRST_DAY = date(2020, 1, 1)
EXTENDED_OPEN = time(4, 0)  # New York: pre-market trading starts
AFTER_HOURS = timedelta(hours=4)  # after the close (16:00 → 20:00; 13:00 → 17:00 on a half day)
BAR_LENGTH: dict[Interval, timedelta] = {
    "1m": timedelta(minutes=1),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}


class CalendarRangeError(ValueError):
    """A date or instant the market calendar was not built for."""


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session: its date and its open and close in UTC."""

    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        """True on half days (the close is before 16:00 New York time)."""
        return self.close.astimezone(NEW_YORK).time() < REGULAR_CLOSE


def as_utc(now: datetime, what: str = "now") -> datetime:
    """``now`` in UTC; a naive datetime is refused (it has no meaning here)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime (got naive {now!r})")
    return now.astimezone(UTC)


def utc_midnight(day: date) -> datetime:
    """00:00 UTC of ``day``: when a daily bar of that date starts."""
    return datetime.combine(day, time(0), UTC)


def assume_utc(when: datetime) -> datetime:
    """``when`` in UTC, a naive datetime taken as UTC (for display, where refusing helps nobody)."""
    if when.tzinfo is None or when.utcoffset() is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _as_datetime(stamp: Any) -> datetime:
    when: datetime = stamp.to_pydatetime()
    return when.astimezone(UTC)


class MarketHours:
    """Trading sessions of one exchange between ``first`` and ``last`` (inclusive)."""

    def __init__(
        self,
        first: date = DEFAULT_FIRST_DAY,
        last: date | None = None,
        *,
        exchange: str = "XNYS",
    ) -> None:
        import exchange_calendars  # slow import (~0.3 s): only when a calendar is built

        last = last or datetime.now(UTC).date() + timedelta(days=366)
        if last < first:
            raise ValueError(f"calendar range is empty: {first} .. {last}")
        with warnings.catch_warnings():  # exchange_calendars 4.13 trips pandas 3.1 deprecations
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            schedule = exchange_calendars.get_calendar(exchange, start=first, end=last).schedule
        self.exchange = exchange
        self.first = first
        self.last = last
        self._sessions: list[Session] = [
            Session(label.date(), _as_datetime(opened), _as_datetime(closed))
            for label, opened, closed in zip(schedule.index, schedule["open"], schedule["close"], strict=True)
        ]
        self._days = [s.day for s in self._sessions]
        self._opens = [s.open for s in self._sessions]
        self._closes = [s.close for s in self._sessions]
        self._start = datetime.combine(first, time(0), UTC)
        self._end = datetime.combine(last + timedelta(days=1), time(0), UTC)

    def __repr__(self) -> str:
        return f"MarketHours({self.exchange}, {self.first} .. {self.last})"

    # -- range checks -----------------------------------------------------------------

    def _check_instant(self, now: datetime) -> datetime:
        now = as_utc(now)
        if not self._start <= now < self._end:
            raise CalendarRangeError(
                f"{now.isoformat()} is outside the {self.exchange} calendar "
                f"({self.first} .. {self.last}); build MarketHours with a wider range"
            )
        return now

    def _check_day(self, day: date) -> date:
        if isinstance(day, datetime):
            raise TypeError("pass a date, not a datetime (use .date() in the exchange's zone)")
        if not self.first <= day <= self.last:
            raise CalendarRangeError(
                f"{day} is outside the {self.exchange} calendar ({self.first} .. {self.last}); "
                "build MarketHours with a wider range"
            )
        return day

    def _at(self, index: int, what: str) -> Session:
        if not 0 <= index < len(self._sessions):
            raise CalendarRangeError(f"no {what} within the {self.exchange} calendar ({self.first} .. {self.last})")
        return self._sessions[index]

    # -- days -------------------------------------------------------------------------

    def session(self, day: date) -> Session | None:
        """The session on ``day`` (a New York date), or None on weekends and holidays."""
        self._check_day(day)
        i = bisect.bisect_left(self._days, day)
        return self._sessions[i] if i < len(self._days) and self._days[i] == day else None

    def is_trading_day(self, day: date) -> bool:
        return self.session(day) is not None

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        self._check_day(day)
        return self._at(bisect.bisect_left(self._days, day) - 1, f"trading day before {day}").day

    def next_trading_day(self, day: date) -> date:
        """The first trading day strictly after ``day``."""
        self._check_day(day)
        return self._at(bisect.bisect_right(self._days, day), f"trading day after {day}").day

    # -- instants ---------------------------------------------------------------------

    def is_open(self, now: datetime) -> bool:
        """True from a session's open (inclusive) to its close (exclusive)."""
        now = self._check_instant(now)
        i = bisect.bisect_right(self._opens, now) - 1
        return i >= 0 and now < self._closes[i]

    def in_extended_hours(self, now: datetime) -> bool:
        """True in a trading day's pre-market (from 04:00 New York) or after-hours (until 20:00,
        or 4 hours after an early close), the regular session excluded."""
        now = self._check_instant(now)
        if self.is_open(now):
            return False
        day = now.astimezone(NEW_YORK).date()
        if not self.is_trading_day(day):
            return False
        session = self.session(day)
        assert session is not None
        pre = datetime.combine(day, EXTENDED_OPEN, NEW_YORK)
        return pre <= now < session.open or session.close <= now < session.close + AFTER_HOURS

    def current_or_next_session(self, now: datetime) -> Session:
        """The session in progress at ``now``, else the next one to open."""
        now = self._check_instant(now)
        return self._at(bisect.bisect_right(self._closes, now), f"session after {now.isoformat()}")

    def latest_started_session(self, now: datetime) -> Session:
        """The last session that opened at or before ``now`` (it may still be open)."""
        now = self._check_instant(now)
        return self._at(bisect.bisect_right(self._opens, now) - 1, f"session before {now.isoformat()}")

    def last_closed_session(self, now: datetime) -> Session:
        """The last session whose close is at or before ``now``."""
        now = self._check_instant(now)
        return self._at(bisect.bisect_right(self._closes, now) - 1, f"close before {now.isoformat()}")

    def sessions_between(self, start: datetime, end: datetime) -> list[Session]:
        """Sessions that overlap the half-open window ``[start, end)``."""
        start, end = self._check_instant(start), as_utc(end, "end")
        if end <= start:
            return []
        if end > self._end:
            raise CalendarRangeError(f"{end.isoformat()} is past the calendar's last day {self.last}")
        lo = bisect.bisect_right(self._closes, start)
        hi = bisect.bisect_left(self._opens, end)
        return self._sessions[lo:hi]

    def report_timing(self, when: datetime) -> EarningsTiming:
        """Whether a company report at ``when`` came before that day's open or after its close.

        Midnight New York time is how Yahoo says "no time given": ``"unknown"``, as
        is a time during the session. Half days close early; days outside the
        calendar use the regular 09:30-16:00.
        """
        local = as_utc(when, "when").astimezone(NEW_YORK)
        if local.time() == time(0):
            return "unknown"
        session = self.session(local.date()) if self.first <= local.date() <= self.last else None
        opens = session.open.astimezone(NEW_YORK).time() if session else REGULAR_OPEN
        closes = session.close.astimezone(NEW_YORK).time() if session else REGULAR_CLOSE
        if local.time() < opens:
            return "before_open"
        return "after_close" if local.time() >= closes else "unknown"

    def should_poll_extended(self, now: datetime, last_poll: datetime | None) -> bool:
        """:meth:`should_poll`, and all through the pre-market and after-hours as well."""
        return self.should_poll(now, last_poll) or self.in_extended_hours(now)

    def should_poll(self, now: datetime, last_poll: datetime | None) -> bool:
        """Poll while the market is open, and once more after each close.

        After a close, the first call whose ``last_poll`` is before that close
        returns True (that poll picks up the final prices); later calls return
        False until the next open. ``last_poll=None`` (nothing polled since
        start-up) also returns True, so a bot started on a weekend fetches once.
        """
        if self.is_open(now):
            return True
        if last_poll is None:
            return True
        last_poll = as_utc(last_poll, "last_poll")
        now = as_utc(now)
        if now < self._opens[0]:
            return False
        return last_poll < self.last_closed_session(now).close


@functools.cache
def default_market_hours() -> MarketHours:
    """The NYSE calendar from 2020 to a year from today, built on first use."""
    return MarketHours()


def hours_covering(first: date, last: date) -> MarketHours:
    """The NYSE calendar for ``first`` .. ``last`` (and the year ahead, like the default one):
    the default calendar when it covers them, else a wider one."""
    default = default_market_hours()
    if default.first <= first and last < default.last:
        return default
    return MarketHours(min(first, default.first), max(last + timedelta(days=366), default.last))


def bar_close_time(bar: Bar, hours: MarketHours | None, *, around_the_clock: bool) -> datetime:
    """When ``bar`` has closed and may be seen: the one rule for every layer.

    An hourly bar closes an hour after it starts, a crypto daily bar at the next 00:00
    UTC, an equity daily bar at its NYSE session's close (16:00 New York, 13:00 on half
    days). A daily equity bar on a day without a session (or outside the calendar)
    closes 24 h after it starts.
    """
    if bar.interval != "1d" or around_the_clock or hours is None:
        return bar.ts + BAR_LENGTH[bar.interval]
    try:
        session = hours.session(bar.ts.date())
    except CalendarRangeError:
        session = None
    return session.close if session is not None else bar.ts + BAR_LENGTH[bar.interval]


def next_bar_close(now: datetime, interval: Interval, hours: MarketHours | None, *, around_the_clock: bool) -> datetime:
    """When the next bar of ``interval`` closes after ``now`` (the next hour, UTC midnight or session close)."""
    if interval == "1h" or around_the_clock or hours is None:
        length = BAR_LENGTH[interval]
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch + ((now - epoch) // length + 1) * length
    try:
        return hours.current_or_next_session(now).close
    except CalendarRangeError:
        return now + BAR_LENGTH[interval]
