"""What a subscriber with default settings reads over 2025, replayed on the shipped real data.

The defects issue 9 found, each as a check on every message of the year (one replay,
shared by the tests of this module: they run in one xdist group).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache

import pandas as pd
import pytest

from bot.render import render_plain
from bot.replay import SHIPPED_REPLAY_DATA, ReplayMessage, default_plan
from bot.values import Threshold
from tests.helpers import subscriber_messages

pytestmark = [pytest.mark.xdist_group("year_2025"), pytest.mark.slow]  # replays the year: CI runs it
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


# -- large moves: since the previous session's close, Mondays and holidays included ------------


@cache
def year_at_5_pct() -> tuple[ReplayMessage, ...]:
    """The same year for a chat that set ``/set move 5%``."""
    return tuple(subscriber_messages(default_plan(start=date(2025, 1, 1)), chosen={"move": Threshold(5.0, "%")}))


def told_moves(messages: Iterable[ReplayMessage]) -> dict[tuple[str, date], tuple[float, str]]:
    """(name, session) → (its move in %, the text of the message) for every session move told,
    alone or in a market-wide message."""
    told: dict[tuple[str, date], tuple[float, str]] = {}
    for message in messages:
        for alert in message.alerts:
            if alert.kind == "large_move" and alert.session is not None:
                told[(alert.symbol, alert.session)] = (alert.move_pct, render_plain(alert))
            elif alert.kind == "market_move":
                for symbol, move in alert.moves.items():
                    told[(symbol, alert.session)] = (move, render_plain(alert))
    return told


@pytest.mark.parametrize(
    ("symbol", "session", "move", "since"),
    [
        ("NVDA", date(2025, 3, 3), -8.7, "since Friday's close"),  # a Monday
        ("AMD", date(2025, 3, 24), +7.0, "since Friday's close"),
        ("AMD", date(2025, 6, 16), +8.8, "since Friday's close"),
        ("ORCL", date(2025, 1, 21), +7.2, "since Friday's close"),  # after Martin Luther King Day
        ("ORCL", date(2025, 1, 10), -5.1, "since Wednesday's close"),  # after the 9 January closure
        ("AMD", date(2025, 10, 8), +11.4, "since Tuesday's close"),  # the second day of a run
    ],
)
def test_a_move_after_a_weekend_or_a_holiday_is_told_from_the_previous_close(symbol, session, move, since):
    told_move, text = told_moves(year_at_5_pct())[(symbol, session)]
    assert told_move == pytest.approx(move, abs=0.05)
    assert since in text, text


def test_every_move_of_three_sigmas_is_told_with_default_settings():
    """Each session (BTC: UTC day) where a name's close-to-close return was at least 3σ of its
    previous 60 returns, computed here with pandas, is told that day by some alert about it."""
    told = set(told_moves(year()))
    for message in year():
        for alert in message.alerts:
            if alert.kind in ("earnings_shock", "gap", "earnings_reversal"):
                told.add((alert.symbol, alert.session))
            elif alert.kind == "large_move" and alert.session is None:  # BTC over 24 h, by UTC day
                told.add((alert.symbol, alert.time.date()))
                told.add((alert.symbol, (alert.time - timedelta(minutes=1)).date()))
    expected = []
    for symbol in ("NVDA", "AMD", "ORCL", "QQQ", "BTC"):
        closes = pd.read_csv(SHIPPED_REPLAY_DATA / f"{symbol}{'-USD' if symbol == 'BTC' else ''}_1d.csv")
        closes = closes.set_index(closes.columns[0])["close"]
        returns = closes.pct_change()
        sigmas = returns / returns.rolling(60, min_periods=20).std().shift(1)
        expected += [(symbol, date.fromisoformat(day[:10])) for day in sigmas[sigmas.abs() >= 3].index]
    assert len(expected) == 15
    assert [move for move in expected if move not in told] == []


def test_a_market_wide_move_is_one_message_with_every_name_and_btc_over_the_same_hours():
    [message] = [
        m for m in year() if any(a.kind == "market_move" and a.session == date(2025, 10, 10) for a in m.alerts)
    ]
    [market] = [a for a in message.alerts if a.kind == "market_move"]
    assert market.direction == "down" and set(market.moves) == {"NVDA", "AMD", "ORCL", "QQQ"}
    assert not [a for a in message.alerts if a.kind == "large_move" and a.symbol in market.moves]  # folded in
    lines = render_plain(market).splitlines()
    assert lines[0] == "📉 Tech sell-off since Thursday's close"
    assert lines[1].startswith("QQQ (Nasdaq) −3.5 % (")  # the index first, then the largest moves
    assert lines[2].startswith("AMD −7.7 %")
    # BTC from the hourly bars that closed at the NYSE closes (20:00 UTC in October)
    hourly = btc_bars("1h")["close"]
    btc = (hourly[pd.Timestamp("2025-10-10T19:00Z")] / hourly[pd.Timestamp("2025-10-09T19:00Z")] - 1) * 100
    assert market.btc_move_pct == pytest.approx(btc, abs=1e-9)
    assert "BTC −3.6 % over the same hours" in lines


# -- earnings: shocks, reversals and gaps without a report ---------------------------------------


def report_sessions() -> pd.DataFrame:
    """Every 2025 report of the shipped calendar with its first session's gap and move, from the CSVs."""
    reports = pd.read_csv(SHIPPED_REPLAY_DATA / "earnings_dates.csv")
    rows = []
    for report in reports.itertuples():
        daily = pd.read_csv(SHIPPED_REPLAY_DATA / f"{report.symbol}_1d.csv")
        daily = daily.set_index(daily.columns[0])
        at = daily.index.get_loc(report.first_session_after_report)
        prior, today = daily.iloc[at - 1], daily.iloc[at]
        gap, move = (today.open / prior.close - 1) * 100, (today.close / prior.close - 1) * 100
        rows.append((report.symbol, date.fromisoformat(report.first_session_after_report), gap, move))
    return pd.DataFrame(rows, columns=["symbol", "session", "gap", "move"])


def alerts_of(kind: str) -> dict[tuple[str, date], object]:
    return {(a.symbol, a.session): a for m in year() for a in m.alerts if a.kind == kind}


def test_every_earnings_shock_of_seven_percent_is_told_with_its_move_net_of_the_market():
    sessions = report_sessions()
    assert len(sessions) == 12
    big = sessions[(sessions.gap.abs() >= 7) | (sessions.move.abs() >= 7)]
    assert len(big) == 5  # AMD 5 Feb, NVDA 27 Feb, ORCL 12 Jun, 10 Sep, 11 Dec
    shocks = alerts_of("earnings_shock")
    for row in big.itertuples():
        shock = shocks[(row.symbol, row.session)]
        assert shock.move_pct == pytest.approx(row.move, abs=1e-6)
        text = render_plain(shock)
        assert "after earnings" in text and "Net of the market: " in text, text


def test_the_nvda_report_day_reversal_of_20_november_is_told():
    reversal = alerts_of("earnings_reversal")[("NVDA", date(2025, 11, 20))]
    assert render_plain(reversal).splitlines()[0] == "↩️ NVDA reversed after earnings: opened +5.1 %, closed −3.2 %"
    assert reversal.report_date == date(2025, 11, 19)


def test_a_gap_without_a_report_never_says_after_earnings():
    reported = set(zip(report_sessions().symbol, report_sessions().session, strict=True))
    gaps = alerts_of("gap")
    assert ("ORCL", date(2025, 1, 22)) in gaps and ("AMD", date(2025, 10, 6)) in gaps  # Stargate, OpenAI
    for key, gap in gaps.items():
        assert key not in reported
        text = render_plain(gap)
        assert "after earnings" not in text and "No earnings report on record for this session" in text
    assert not [a for a in alerts_of("earnings_shock").values() if not a.earnings]
