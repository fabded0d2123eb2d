"""What a subscriber with default settings reads over 2025, replayed on the shipped real data.

The defects issue 9 found, each as a check on every message of the year (one replay,
shared by the tests of this module: they run in one xdist group).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from functools import cache

import pandas as pd
import pytest

from bot.render import render_plain
from bot.replay import SHIPPED_REPLAY_DATA, ReplayMessage, default_plan
from tests.helpers import subscriber_messages

pytestmark = pytest.mark.xdist_group("year_2025")
LEVELS = (90_000.0, 92_000.0)


@cache
def year() -> tuple[ReplayMessage, ...]:
    return tuple(subscriber_messages(default_plan(start=date(2025, 1, 1))))


def btc_bars(interval: str) -> pd.DataFrame:
    frame = pd.read_csv(SHIPPED_REPLAY_DATA / f"BTC-USD_{interval}.csv")
    stamp = frame.columns[0]
    frame.index = pd.to_datetime(frame[stamp], utc=True)
    return frame


def side(price: float, level: float) -> str:
    return "above" if price >= level else "below"


def said_side(alert) -> str | None:
    """The side of its level an alert tells the reader the price is on."""
    if alert.kind == "level_break":
        return "above" if alert.direction == "up" else "below"
    if alert.kind == "level_chop":
        return alert.side
    return None


# -- levels: the story of a bar follows the price and ends where the bar closed -----------------


def test_the_last_word_about_a_level_in_a_bar_is_where_the_bar_closed_and_quotes_the_close():
    closes = {**btc_bars("1d")["close"].to_dict(), **btc_bars("1h")["close"].to_dict()}
    last: dict[tuple[datetime, float], object] = {}
    for message in year():
        for alert in message.alerts:
            if alert.kind == "level_break" and alert.bar_start is not None and not alert.chop_crossings:
                last[(alert.bar_start, alert.level)] = alert
    assert len(last) > 30
    for (bar_start, level), alert in last.items():
        close = closes[pd.Timestamp(bar_start)]
        assert said_side(alert) == side(close, level), (bar_start, level)
        assert alert.held and alert.price == close


def test_crossings_inside_one_message_follow_the_price_path():
    for message in year():
        breaks = [a for a in message.alerts if a.kind == "level_break"]
        for earlier, later in itertools.pairwise(breaks):
            if earlier.bar_start == later.bar_start:
                assert earlier.seq < later.seq


def test_a_chat_is_never_told_the_same_side_of_a_level_twice_in_a_row():
    # Before: a crossing muted by the cooldown still flipped the level, so "broke below" could follow "broke below".
    told: dict[float, list[str]] = {}
    for message in year():
        for alert in message.alerts:
            if alert.kind == "level_break":
                told.setdefault(alert.level, []).append(alert.direction)
    assert set(told) == set(LEVELS)
    for level, directions in told.items():
        assert all(a != b for a, b in itertools.pairwise(directions)), level


def decisive_crossings(level: float, start: date, end: date) -> list[tuple[datetime, str]]:
    """Hourly closes at least 1 % through ``level`` after the last such close on the other side,
    with the moment that hour ended; computed from the data, not by the bot."""
    bars = btc_bars("1h")
    found, current = [], None
    for ts, close in bars["close"].items():
        pct = (close - level) / level * 100
        now = "above" if pct >= 1 else "below" if pct <= -1 else None
        if now is not None and now != current:
            if current is not None and start <= ts.date() <= end:
                found.append((ts.to_pydatetime() + timedelta(hours=1), now))
            current = now
    return found


def test_the_chop_of_17_to_20_november_is_at_most_10_messages_and_every_decisive_crossing_is_told():
    start, end = date(2025, 11, 17), date(2025, 11, 20)
    about_levels = [
        m
        for m in year()
        if m.edit_of is None
        and start <= m.at.date() <= end
        and any(a.kind in ("level_break", "level_chop") for a in m.alerts)
    ]
    assert len(about_levels) <= 10  # 26 before: every crossing was a message
    decisive = [(level, at, now) for level in LEVELS for at, now in decisive_crossings(level, start, end)]
    assert len(decisive) == 6
    for level, at, now in decisive:
        latest = None  # what the chat's latest new message about the level says, when the hour ends
        for message in about_levels:
            if message.at <= at:
                latest = next(
                    (said_side(a) for a in reversed(message.alerts) if getattr(a, "level", 0) == level), latest
                )
        assert latest == now, f"{level:.0f} went {now} by {at:%d %b %H:%M} but the chat was last told {latest}"


def test_a_chop_message_is_edited_in_place_not_resent():
    chops = [m for m in year() if any(a.kind == "level_chop" for a in m.alerts)]
    assert any(m.edit_of is not None for m in chops)
    opened = {m.number for m in chops if m.edit_of is None}
    assert all(m.edit_of in opened for m in chops if m.edit_of is not None)
    assert all(len(m.alerts) == 1 for m in chops if m.edit_of is not None)


# -- earnings shocks: BTC beside the stock covers the stock's window --------------------------


def shocks() -> dict[tuple[str, date], object]:
    return {(a.symbol, a.session): a for m in year() for a in m.alerts if a.kind == "earnings_shock"}


def test_btc_beside_a_shock_moved_over_the_same_hours_as_the_stock():
    # ORCL reported on 9 Sep after the close: the window is 9 Sep 20:00 UTC (the NYSE close,
    # EDT) to 10 Sep 20:00 UTC. BTC over it, from the hourly bars that closed at those times.
    shock = shocks()[("ORCL", date(2025, 9, 10))]
    assert shock.earnings and shock.report_date == date(2025, 9, 9)
    hourly = btc_bars("1h")["close"]
    before, after = hourly[pd.Timestamp("2025-09-09T19:00Z")], hourly[pd.Timestamp("2025-09-10T19:00Z")]
    assert shock.btc_move_pct == pytest.approx((after / before - 1) * 100, abs=1e-9)


def test_btc_is_left_out_rather_than_shown_for_another_day():
    # Before: "BTC −0.7 %", which was 10 Dec's UTC day; the shipped data has no hours in December.
    shock = shocks()[("ORCL", date(2025, 12, 11))]
    assert shock.btc_move_pct is None
    assert not any(line.startswith("BTC −0.7") for line in render_plain(shock).splitlines())
