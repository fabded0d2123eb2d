"""NYSE hours: holidays, half days, weekends, DST, and the "poll once after the close" rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, default_market_hours


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def hours() -> MarketHours:
    return default_market_hours()


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        (date(2025, 12, 25), False),  # Christmas
        (date(2025, 11, 27), False),  # Thanksgiving
        (date(2025, 1, 9), False),  # national day of mourning (President Carter)
        (date(2025, 12, 13), False),  # Saturday
        (date(2025, 12, 14), False),  # Sunday
        (date(2025, 12, 24), True),  # half day
        (date(2025, 11, 28), True),  # half day
        (date(2025, 12, 11), True),
    ],
)
def test_trading_days(hours, day, trading):
    assert hours.is_trading_day(day) is trading


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc", "early"),
    [
        (date(2025, 12, 24), utc(2025, 12, 24, 14, 30), utc(2025, 12, 24, 18, 0), True),  # 13:00 ET
        (date(2025, 11, 28), utc(2025, 11, 28, 14, 30), utc(2025, 11, 28, 18, 0), True),
        (date(2025, 7, 3), utc(2025, 7, 3, 13, 30), utc(2025, 7, 3, 17, 0), True),  # half day in summer time
        (date(2025, 12, 23), utc(2025, 12, 23, 14, 30), utc(2025, 12, 23, 21, 0), False),
        (date(2025, 7, 7), utc(2025, 7, 7, 13, 30), utc(2025, 7, 7, 20, 0), False),
    ],
)
def test_session_times_include_early_closes(hours, day, open_utc, close_utc, early):
    session = hours.session(day)
    assert (session.open, session.close, session.early_close) == (open_utc, close_utc, early)


@pytest.mark.parametrize(
    ("before", "after", "open_before", "open_after"),
    [
        # US clocks go forward on 2025-03-09: the open moves from 14:30 to 13:30 UTC.
        (date(2025, 3, 7), date(2025, 3, 10), utc(2025, 3, 7, 14, 30), utc(2025, 3, 10, 13, 30)),
        # ...and back on 2025-11-02.
        (date(2025, 10, 31), date(2025, 11, 3), utc(2025, 10, 31, 13, 30), utc(2025, 11, 3, 14, 30)),
    ],
)
def test_open_follows_new_york_daylight_saving_time(hours, before, after, open_before, open_after):
    assert hours.session(before).open == open_before
    assert hours.session(after).open == open_after
    assert hours.is_open(open_after)
    assert not hours.is_open(open_after - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        (utc(2025, 12, 24, 14, 29), False),
        (utc(2025, 12, 24, 14, 30), True),  # the open minute trades
        (utc(2025, 12, 24, 17, 59), True),
        (utc(2025, 12, 24, 18, 0), False),  # half day: closed at 13:00 ET
        (utc(2025, 12, 25, 16, 0), False),  # Christmas
        (utc(2025, 12, 27, 16, 0), False),  # Saturday
        (utc(2025, 12, 26, 20, 59), True),
    ],
)
def test_is_open(hours, now, is_open):
    assert hours.is_open(now) is is_open


def test_current_next_and_previous_sessions_skip_holidays(hours):
    # After the half-day close on Christmas Eve the next session is the 26th.
    assert hours.current_or_next_session(utc(2025, 12, 24, 18, 0)).day == date(2025, 12, 26)
    assert hours.current_or_next_session(utc(2025, 12, 24, 15, 0)).day == date(2025, 12, 24)
    assert hours.last_closed_session(utc(2025, 12, 26, 10, 0)).close == utc(2025, 12, 24, 18, 0)
    assert hours.latest_started_session(utc(2025, 11, 28, 15, 0)).day == date(2025, 11, 28)
    assert hours.previous_trading_day(date(2025, 11, 28)) == date(2025, 11, 26)
    assert hours.previous_trading_day(date(2025, 12, 29)) == date(2025, 12, 26)
    assert hours.next_trading_day(date(2025, 12, 24)) == date(2025, 12, 26)


def test_sessions_between_a_weekend_and_a_holiday(hours):
    window = hours.sessions_between(utc(2025, 12, 24, 17, 0), utc(2025, 12, 29, 14, 30))
    assert [s.day for s in window] == [date(2025, 12, 24), date(2025, 12, 26)]
    assert hours.sessions_between(utc(2025, 12, 27), utc(2025, 12, 29)) == []


def poll_times(start: datetime, end: datetime, every: timedelta, hours: MarketHours) -> list[datetime]:
    """The times a scheduler ticking every ``every`` would actually poll."""
    polls: list[datetime] = []
    now = start
    while now < end:
        if hours.should_poll(now, polls[-1] if polls else None):
            polls.append(now)
        now += every
    return polls


@pytest.mark.parametrize(
    ("day", "close"),
    [
        (date(2025, 12, 24), utc(2025, 12, 24, 18, 0)),  # half day
        (date(2025, 11, 28), utc(2025, 11, 28, 18, 0)),  # half day
        (date(2025, 12, 23), utc(2025, 12, 23, 21, 0)),
        (date(2025, 3, 10), utc(2025, 3, 10, 20, 0)),  # first day of summer time
    ],
)
@pytest.mark.parametrize("every", [timedelta(minutes=1), timedelta(seconds=45), timedelta(minutes=7)])
def test_should_poll_while_open_and_exactly_once_after_the_close(hours, day, close, every):
    session = hours.session(day)
    start = session.open - timedelta(hours=2)
    polls = poll_times(start, close + timedelta(hours=6), every, hours)
    after_close = [p for p in polls if p >= close]
    assert len(after_close) == 1
    assert after_close[0] - close < every  # the first tick at or after the close
    # Before the open only the very first tick polls (nothing polled yet since start-up).
    assert [p for p in polls if p < session.open] == [start]
    assert all(hours.is_open(p) for p in polls if session.open <= p < close)


def test_should_poll_on_a_holiday_only_once_after_start_up(hours):
    christmas = utc(2025, 12, 25, 0, 0)
    polls = poll_times(christmas, christmas + timedelta(days=1), timedelta(minutes=1), hours)
    assert polls == [christmas]


@pytest.mark.parametrize(
    ("now", "last_poll", "expected"),
    [
        (utc(2025, 12, 24, 18, 0), utc(2025, 12, 24, 17, 59), True),  # first poll after the close
        (utc(2025, 12, 24, 18, 1), utc(2025, 12, 24, 18, 0), False),  # already done
        (utc(2025, 12, 25, 12, 0), utc(2025, 12, 24, 17, 59), True),  # bot was down at the close
        (utc(2025, 12, 26, 14, 29), utc(2025, 12, 24, 18, 0), False),  # pre-market
        (utc(2025, 12, 26, 14, 30), utc(2025, 12, 24, 18, 0), True),  # the open
    ],
)
def test_should_poll_cases(hours, now, last_poll, expected):
    assert hours.should_poll(now, last_poll) is expected


@pytest.mark.parametrize(
    ("local", "timing"),
    [
        (datetime(2025, 12, 10, 16, 0), "after_close"),  # ORCL's Q2 FY26 release
        (datetime(2025, 12, 10, 17, 30), "after_close"),
        (datetime(2025, 12, 10, 8, 0), "before_open"),
        (datetime(2025, 12, 10, 9, 29), "before_open"),
        (datetime(2025, 12, 10, 12, 0), "unknown"),  # during the session
        (datetime(2025, 12, 10, 0, 0), "unknown"),  # midnight: Yahoo has no time
        (datetime(2025, 11, 28, 13, 30), "after_close"),  # half day: closed at 13:00
        (datetime(2019, 5, 2, 16, 5), "after_close"),  # before the calendar: regular hours
    ],
)
def test_report_timing(hours, local, timing):
    assert hours.report_timing(local.replace(tzinfo=NEW_YORK)) == timing


def test_outside_the_calendar_fails_clearly():
    small = MarketHours(date(2024, 1, 1), date(2025, 12, 31))
    with pytest.raises(CalendarRangeError, match=r"2024-01-01 \.\. 2025-12-31"):
        small.is_open(utc(2026, 1, 5, 15, 0))
    with pytest.raises(CalendarRangeError):
        small.is_trading_day(date(2023, 12, 29))
    with pytest.raises(CalendarRangeError, match="no session after"):
        small.current_or_next_session(utc(2025, 12, 31, 22, 0))


def test_default_calendar_covers_2024_to_a_year_ahead(hours):
    assert hours.first <= date(2024, 1, 1)
    assert hours.last >= datetime.now(UTC).date() + timedelta(days=365)
    assert default_market_hours() is hours  # built once


def test_naive_datetimes_are_refused(hours):
    with pytest.raises(ValueError, match="timezone-aware"):
        hours.is_open(datetime(2025, 12, 24, 15, 0))


@pytest.mark.parametrize(
    ("when", "extended"),
    [
        (datetime(2025, 12, 10, 8, 59, tzinfo=UTC), False),  # 03:59 New York: not yet
        (datetime(2025, 12, 10, 9, 0, tzinfo=UTC), True),  # 04:00: the pre-market opens
        (datetime(2025, 12, 10, 14, 30, tzinfo=UTC), False),  # 09:30: the regular session
        (datetime(2025, 12, 10, 21, 0, tzinfo=UTC), True),  # 16:00: after hours
        (datetime(2025, 12, 11, 0, 59, tzinfo=UTC), True),  # 19:59
        (datetime(2025, 12, 11, 1, 0, tzinfo=UTC), False),  # 20:00: over
        (datetime(2025, 12, 13, 15, 0, tzinfo=UTC), False),  # a Saturday
        (datetime(2025, 11, 28, 21, 59, tzinfo=UTC), True),  # 16:59 after a 13:00 half-day close
        (datetime(2025, 11, 28, 22, 0, tzinfo=UTC), False),  # 17:00: four hours after it
    ],
)
def test_extended_hours_are_the_pre_market_and_the_four_hours_after_the_close(when, extended):
    hours = MarketHours(date(2025, 1, 1), date(2026, 6, 30))
    assert hours.in_extended_hours(when) is extended
    assert hours.should_poll_extended(when, when) is (extended or hours.is_open(when))
