"""Validation of source values: what is not a price never reaches the store."""

import math

import pytest

from bot.sources.validate import JumpGuard, as_price, valid_ohlc


@pytest.mark.parametrize("value", [None, math.nan, math.inf, 0, -1, "abc", True, ""])
def test_not_a_price(value):
    assert as_price(value) is None


def test_numbers_and_numeric_strings_are_prices():
    assert as_price("92541.0") == 92541.0 and as_price(89281) == 89281.0


@pytest.mark.parametrize(
    ("bar", "ok"),
    [
        ((92000, 93000, 89281, 92541), True),
        ((92000, 91000, 89281, 92541), False),  # high below close
        ((92000, 93000, 92100, 92541), False),  # low above open
        ((92000, None, 89281, 92541), False),
    ],
)
def test_ohlc_must_be_a_possible_bar(bar, ok):
    assert (valid_ohlc(*bar) is not None) is ok


def test_jump_guard_rejects_a_bad_print_but_follows_real_moves():
    guard = JumpGuard(max_jump_pct=20)
    assert guard.accept("BTC", 92000) == 92000
    assert guard.accept("BTC", 9200) is None  # a missing digit
    assert guard.accept("BTC", 91000) == 91000  # and the market carries on
    assert guard.accept("BTC", 60000) is None


def test_jump_guard_reanchors_after_consistent_confirmations():
    guard = JumpGuard(max_jump_pct=20, confirmations=3)
    guard.seed("BTC", 92000)
    assert guard.accept("BTC", 60000) is None
    assert guard.accept("BTC", 60100) is None
    assert guard.accept("BTC", 60200) == 60200  # three polls agree: a real move
    assert guard.accept("BTC", 60300) == 60300


def test_scattered_bad_prints_never_reanchor():
    guard = JumpGuard(max_jump_pct=20, confirmations=3)
    guard.seed("BTC", 92000)
    for bad in (1.0, 500000.0, 3.0, 900.0):
        assert guard.accept("BTC", bad) is None
