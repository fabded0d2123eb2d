"""Key level crossings: hand-made paths with the expected alerts written out, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.level_book import LevelBook, Segment
from tests.helpers import through_store

T0 = datetime(2025, 12, 11, tzinfo=UTC)


def book(*levels: float, band: float = 0.0025, cooldown: float = 0) -> LevelBook:
    b = LevelBook("BTC", band, timedelta(minutes=cooldown))
    for level in levels:
        b.add(level)
    return b


def walk(b: LevelBook, *prices: float, step: float = 30) -> list[tuple[float, str, float]]:
    """Feed successive quotes; return (level, direction, price) of each alert that passed the cooldown."""
    out = []
    t = T0
    previous = prices[0]
    b.observe(Segment.between("BTC", t, previous, t, previous))
    for price in prices[1:]:
        t2 = t + timedelta(seconds=step)
        out += [
            (c.level, c.direction, c.price)
            for c in b.observe(Segment.between("BTC", t, previous, t2, price))
            if c.cooled_down
        ]
        t, previous = t2, price
    return out


def test_a_true_crossing_alerts_once_in_each_direction():
    assert walk(book(90_000), 90_500, 90_100, 89_700, 89_500, 90_300) == [
        (90_000, "down", 89_700),
        (90_000, "up", 90_300),
    ]


def test_price_already_past_a_level_is_not_a_crossing():
    assert walk(book(90_000), 89_000, 88_000, 87_000) == []


def test_chatter_inside_the_band_gives_one_alert_per_real_crossing():
    # band = 225 around 90,000: 89,775 .. 90,225
    prices = (90_400, 89_900, 90_100, 89_800, 90_050, 89_700, 89_950, 90_200, 89_760, 90_300)
    assert walk(book(90_000), *prices) == [(90_000, "down", 89_700), (90_000, "up", 90_300)]


def test_a_gap_through_several_levels_alerts_each_nearest_first():
    assert walk(book(90_000, 92_000, 95_000), 93_000, 89_000) == [
        (92_000, "down", 89_000),
        (90_000, "down", 89_000),
    ]


def test_wick_inside_a_bar_is_not_missed_and_reports_the_extreme_or_the_close():
    # 2025-12-11: open 92,019.8, high 93,561.8, low 89,281.4, close 92,541.0 (a rising bar:
    # open → low → high → close), after closing 12-10 at 92,019.8 above 90,000.
    b = book(90_000, 92_000)
    b.observe(Segment.between("BTC", T0, 92_300, T0, 92_300))  # 92,000 is below us: above
    bar = Segment("BTC", T0, T0 + timedelta(days=1), 92_019.8, 93_561.8, 89_281.4, 92_541.0, bar_start=T0)
    got = [(c.level, c.direction, c.price, round(c.through_pct, 2)) for c in b.observe(bar)]
    assert got == [
        (92_000, "down", 89_281.4, 2.96),
        (90_000, "down", 89_281.4, 0.8),
        (90_000, "up", 92_541.0, 2.82),
        (92_000, "up", 92_541.0, 0.59),
    ]


def test_cooldown_mutes_a_round_trip_through_the_same_level():
    b = book(90_000, cooldown=30)
    alerts = walk(b, 90_500, 89_500, 90_500, 89_500, step=300)  # 5 minutes apart
    assert alerts == [(90_000, "down", 89_500)]
    assert b.sides[90_000] == "below"  # the muted crossings still moved the state
    assert walk(b, 89_500, 90_500, step=3600) == [(90_000, "up", 90_500)]  # after the cooldown


def test_a_round_trip_inside_one_bar_reports_both_crossings_despite_the_cooldown():
    b = book(90_000, cooldown=30)
    b.observe(Segment.between("BTC", T0, 90_650, T0, 90_650))
    bar = Segment("BTC", T0, T0 + timedelta(days=1), 90_435.1, 92_269.6, 89_615.8, 90_650.1, bar_start=T0)
    got = [(c.direction, c.price) for c in b.observe(bar) if c.cooled_down]
    assert got == [("down", 89_615.8), ("up", 90_650.1)]  # dipped below, and closed back above


def test_restart_neither_repeats_nor_forgets():
    b = book(90_000)
    assert walk(b, 90_500, 89_500) == [(90_000, "down", 89_500)]
    restored = LevelBook.from_state(through_store(b.state()), band=b.band, cooldown=b.cooldown)
    t = T0 + timedelta(hours=1)
    assert restored.observe(Segment.between("BTC", t, 89_500, t, 89_400)) == []
    [up] = restored.observe(Segment.between("BTC", t, 89_400, t + timedelta(minutes=1), 90_400))
    assert (up.level, up.direction) == (90_000, "up")


def test_new_level_takes_its_side_from_the_last_price_without_alerting():
    b = book(90_000)
    walk(b, 95_000, 94_000)
    b.add(93_000)
    assert b.sides[93_000] == "above"
    assert walk(b, 94_000, 92_500) == [(93_000, "down", 92_500)]


def test_removed_levels_stop_alerting():
    b = book(90_000, 92_000)
    b.remove(92_000)
    assert walk(b, 93_000, 89_000) == [(90_000, "down", 89_000)]


@pytest.mark.parametrize("band", [-0.1, 0.5])
def test_band_must_be_sane(band):
    with pytest.raises(ValueError):
        LevelBook("BTC", band)


# ---- properties ---------------------------------------------------------------------


def reference_crossings(levels, band, prices):
    """A naive model: every level on its own, price by price."""
    sides = {level: ("above" if prices[0] >= level else "below") for level in levels}
    out = []
    for i, p in enumerate(prices[1:], 1):
        a = prices[i - 1]
        # visit levels in the order the move meets them
        ordered = sorted(levels, reverse=p < a)
        for level in ordered:
            if sides[level] == "above" and p <= level * (1 - band) and p < a:
                sides[level] = "below"
                out.append((i, level, "down"))
            elif sides[level] == "below" and p >= level * (1 + band) and p > a:
                sides[level] = "above"
                out.append((i, level, "up"))
    return out


@settings(max_examples=300, deadline=None)
@given(
    levels=st.lists(st.integers(80_000, 100_000).map(float), min_size=1, max_size=8, unique=True),
    prices=st.lists(st.integers(78_000, 102_000).map(float), min_size=2, max_size=60),
    band=st.sampled_from([0.0, 0.0025, 0.01]),
)
def test_every_real_crossing_alerts_exactly_once_and_nothing_else(levels, prices, band):
    b = LevelBook("BTC", band, timedelta(0))
    b.observe(Segment.between("BTC", T0, prices[0], T0, prices[0]))
    for level in levels:
        b.add(level)
    got = []
    for i, p in enumerate(prices[1:], 1):
        t = T0 + timedelta(minutes=i)
        got += [(i, c.level, c.direction) for c in b.observe(Segment.between("BTC", t, prices[i - 1], t, p))]
    assert got == reference_crossings(levels, band, prices)
    for i, level, direction in got:  # and each is a real crossing beyond the band
        p = prices[i]
        assert (p <= level * (1 - band)) if direction == "down" else (p >= level * (1 + band))
