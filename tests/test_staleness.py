"""Staleness flips after the threshold; equities only go stale while the market is open."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.staleness import SeriesPolicy, is_stale, stale_series

T0 = datetime(2025, 12, 11, 15, 0, tzinfo=UTC)  # a Thursday, NYSE open 14:30-21:00 UTC
CRYPTO = SeriesPolicy(timedelta(seconds=30), 3)


def nyse_open(now):
    day_open = now.replace(hour=14, minute=30, second=0, microsecond=0)
    return day_open if now.weekday() < 5 and day_open <= now < now.replace(hour=21, minute=0) else None


EQUITY = SeriesPolicy(timedelta(seconds=60), 3, session_open=nyse_open)


@pytest.mark.parametrize(("age", "stale"), [(0, False), (60, False), (90, False), (91, True), (3600, True)])
def test_crypto_flips_after_three_intervals(age, stale):
    assert is_stale(T0 - timedelta(seconds=age), CRYPTO, T0) is stale


def test_never_updated_is_stale():
    assert is_stale(None, CRYPTO, T0)


def test_equity_price_from_friday_is_not_stale_on_the_weekend():
    saturday = datetime(2025, 12, 13, 12, tzinfo=UTC)
    assert not is_stale(datetime(2025, 12, 12, 21, tzinfo=UTC), EQUITY, saturday)


def test_equity_gets_a_grace_period_after_the_open_then_goes_stale():
    yesterday_close = datetime(2025, 12, 10, 21, tzinfo=UTC)
    assert not is_stale(yesterday_close, EQUITY, T0.replace(hour=14, minute=32))
    assert is_stale(yesterday_close, EQUITY, T0.replace(hour=14, minute=34))


def test_stale_series_lists_each_with_its_last_update():
    last = {"BTC": T0 - timedelta(minutes=5), "NVDA": T0 - timedelta(seconds=10)}
    assert stale_series(last, {"BTC": CRYPTO, "NVDA": EQUITY, "QQQ": EQUITY}, T0) == {
        "BTC": T0 - timedelta(minutes=5),
        "QQQ": None,
    }
