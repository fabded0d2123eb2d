"""Key level crossings: hand-made paths with the expected alerts written out, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.level_book import LevelBook, Segment
from tests.helpers import through_store

T0 = datetime(2025, 12, 11, tzinfo=UTC)


def book(*levels: float, band: float = 0.0025) -> LevelBook:
    b = LevelBook("BTC", band)
    for level in levels:
        b.add(level)
    return b


def walk(b: LevelBook, *prices: float, step: float = 30) -> list[tuple[float, str, float]]:
    """Feed successive quotes; return (level, direction, price) of each crossing."""
    out = []
    t = T0
    previous = prices[0]
    b.observe(Segment.between("BTC", t, previous, t, previous))
    for price in prices[1:]:
        t2 = t + timedelta(seconds=step)
        out += [(c.level, c.direction, c.price) for c in b.observe(Segment.between("BTC", t, previous, t2, price))]
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


def test_a_bar_is_walked_along_its_likely_path_and_its_story_ends_at_the_close():
    # 2025-12-11: open 92,019.8, high 93,561.8, low 89,281.4, close 92,541.0. A rising bar
    # goes open → low → high → close: down through 92,000 and 90,000, then back up through both.
    b = book(90_000, 92_000)
    b.observe(Segment.between("BTC", T0, 92_300, T0, 92_300))
    bar = Segment("BTC", T0, T0 + timedelta(days=1), 92_019.8, 93_561.8, 89_281.4, 92_541.0, bar_start=T0)
    got = [(c.level, c.direction, c.held, c.price, c.extreme) for c in b.observe(bar)]
    assert got == [
        (92_000, "down", False, 89_281.4, 89_281.4),  # went through, did not stay: the low is quoted
        (90_000, "down", False, 89_281.4, 89_281.4),
        (90_000, "up", True, 92_541.0, 93_561.8),  # ended past it: the close, with the high beside it
        (92_000, "up", True, 92_541.0, 93_561.8),
    ]


def test_a_falling_bar_goes_up_first_then_down():
    b = book(92_000)
    b.observe(Segment.between("BTC", T0, 91_500, T0, 91_500))
    bar = Segment("BTC", T0, T0 + timedelta(hours=1), 91_600, 92_500, 91_000, 91_100, bar_start=T0)
    got = [(c.direction, c.held, c.price) for c in b.observe(bar)]
    assert got == [("up", False, 92_500), ("down", True, 91_100)]


def test_a_close_back_inside_the_band_still_ends_the_story_on_the_close_side():
    # Down through the band to 89,700, closing at 90,050: above the level, though not past
    # its band. The last word about 90,000 must agree with the close: back above.
    b = book(90_000)
    b.observe(Segment.between("BTC", T0, 90_400, T0, 90_400))
    bar = Segment("BTC", T0, T0 + timedelta(hours=1), 90_400, 90_450, 89_700, 90_050, bar_start=T0)
    got = [(c.direction, c.held, c.price) for c in b.observe(bar)]
    assert got == [("down", False, 89_700), ("up", True, 90_050)]
    assert b.sides[90_000] == "above"


def test_restart_neither_repeats_nor_forgets():
    b = book(90_000)
    assert walk(b, 90_500, 89_500) == [(90_000, "down", 89_500)]
    restored = LevelBook.from_state(through_store(b.state()), band=b.band)
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
    b = LevelBook("BTC", band)
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


@settings(max_examples=200, deadline=None)
@given(
    levels=st.lists(st.integers(85_000, 95_000), min_size=1, max_size=60, unique=True),
    walk=st.lists(st.floats(-0.012, 0.012), min_size=1, max_size=40),
    band=st.sampled_from([0.0, 0.0025, 0.01]),
)
def test_a_book_saved_with_its_unusual_sides_only_comes_back_the_same(levels, walk, band):
    """What is saved at every poll is the book's few unusual sides (levels inside the hysteresis
    band of the last price); read back and given its levels again, every side is as it was."""
    book = LevelBook("BTC", band)
    book.sync(map(float, levels))
    price, t = 90_000.0, T0
    book.observe(Segment.between("BTC", t, price, t, price))
    for step in walk:
        later = t + timedelta(minutes=1)
        new = price * (1 + step)
        book.observe(Segment.between("BTC", t, price, later, new))
        price, t = new, later
    saved = through_store_json(book.stored())
    assert len(saved["unusual"]) <= len(levels)
    back = LevelBook.restored(saved)
    assert back.partial and back.last_price == book.last_price
    back.sync(book.prices)
    assert back.sides == book.sides and back.prices == book.prices


def through_store_json(value):
    import json

    return json.loads(json.dumps(value))
