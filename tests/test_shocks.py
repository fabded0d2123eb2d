"""Earnings shocks and heads-ups: hand-made sessions, the σ threshold, report timings, and the shipped 2025 data."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

from bot.domain import Bar, EarningsDate
from bot.formatting import fmt_pct
from bot.markettime import default_market_hours
from bot.render import render_plain
from bot.rules.earnings_reversal import evaluate_reversal
from bot.rules.earnings_shock import Inputs, ShockParams, evaluate_shock, first_session_after, shock_threshold
from bot.rules.earnings_upcoming import EarningsUpcoming, evaluate_heads_up
from bot.rules.gap import evaluate_gap
from bot.rules.session_news import SessionContext, market_beta
from bot.rules.sessions import SessionPrices, closes_before_session, session_prices
from bot.sources.replay_data import load_replay_data

WATCHLIST = ("NVDA", "AMD", "ORCL", "MSFT", "AVGO", "META", "TSM", "QQQ")
PARAMS = ShockParams()
SAMPLE = math.sqrt(60 / 59)  # σ (ddof=1) of 60 returns alternating +x % and -x % is x × SAMPLE


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report(symbol: str, day: date, timing: str = "after_close") -> EarningsDate:
    return EarningsDate(symbol, day, timing, "test")  # type: ignore[arg-type]


def closes_from_returns(returns: list[float], start: float = 100.0) -> list[float]:
    closes = [start]
    for r in returns:
        closes.append(closes[-1] * (1 + r / 100))
    return closes


def alternating(x: float, n: int = 60) -> list[float]:
    """Closes whose ``n`` daily returns alternate +x % and -x %."""
    return closes_from_returns([x if i % 2 == 0 else -x for i in range(n)])


CALM = alternating(1.0)  # σ ≈ 1.008 %: 3σ ≈ 3.03 % is below 7 %
VOLATILE = alternating(3.0)  # σ ≈ 3.025 %: 3σ ≈ 9.08 %, so 7 % applies


@pytest.fixture(scope="module")
def hours():
    return default_market_hours()


@pytest.fixture(scope="module")
def replay():
    return load_replay_data()


# -- the threshold ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("closes", "threshold", "sigma"),
    [
        (CALM, 3 * SAMPLE, SAMPLE),  # 3σ is the smaller
        (VOLATILE, 7.0, 3 * SAMPLE),  # 7 % is the smaller
        (alternating(2.4), 7.0, 2.4 * SAMPLE),  # 3σ = 7.28 %
        (alternating(2.0), 6 * SAMPLE, 2 * SAMPLE),  # 3σ = 6.05 %
        (alternating(1.0, 19), 7.0, None),  # 19 returns: too few for σ
        (alternating(1.0, 20), 3 * math.sqrt(20 / 19), math.sqrt(20 / 19)),  # 20 are enough
        (
            closes_from_returns([5.0, -5.0] * 20 + [1.0, -1.0] * 30),
            3 * SAMPLE,
            SAMPLE,
        ),  # only the last 60 returns count
        ([], 7.0, None),
        ([100.0] * 61, 7.0, None),  # a flat series says nothing: 7 % alone
    ],
)
def test_threshold_is_the_smaller_of_shock_pct_and_three_sigma(closes, threshold, sigma):
    got_threshold, got_sigma = shock_threshold(closes, PARAMS)
    assert got_threshold == pytest.approx(threshold)
    assert got_sigma == (None if sigma is None else pytest.approx(sigma))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shock_pct": 0},
        {"shock_pct": -7},
        {"shock_pct": math.nan},
        {"sigmas": 0},
        {"sigma_window": 10},
        {"min_returns": 1},
    ],
)
def test_bad_params_are_refused(kwargs):
    with pytest.raises(ValueError):
        ShockParams(**kwargs)


# -- which session follows a report ----------------------------------------------------


@pytest.mark.parametrize(
    ("day", "timing", "first"),
    [
        (date(2025, 12, 10), "after_close", date(2025, 12, 11)),  # Wed -> Thu
        (date(2025, 12, 10), "before_open", date(2025, 12, 10)),  # the same day
        (date(2025, 12, 10), "unknown", date(2025, 12, 11)),  # treated as after the close
        (date(2025, 12, 12), "after_close", date(2025, 12, 15)),  # Fri -> Mon
        (date(2025, 12, 12), "unknown", date(2025, 12, 15)),
        (date(2025, 12, 15), "before_open", date(2025, 12, 15)),  # Mon before the open
        (date(2025, 11, 26), "after_close", date(2025, 11, 28)),  # Thanksgiving in between
        (date(2025, 11, 27), "before_open", date(2025, 11, 28)),  # a report on the holiday itself
        (date(2025, 7, 3), "after_close", date(2025, 7, 7)),  # July 4th on a Friday, then the weekend
        (date(2025, 12, 24), "unknown", date(2025, 12, 26)),  # half day, then Christmas
    ],
)
def test_first_session_after_report(hours, day, timing, first):
    assert first_session_after(report("X", day, timing), hours) == first


# -- the shock rule on hand-made sessions ----------------------------------------------


def prices(session: date, prior: float, open_: float, price: float, complete: bool = True) -> SessionPrices:
    return SessionPrices("NVDA", session, prior, open_, price, complete)


THU = date(2025, 12, 11)
AFTER_THU_CLOSE = utc(2025, 12, 11, 21, 5)


def test_a_six_percent_gap_on_a_calm_name_fires_with_the_context(hours):
    shock = evaluate_shock(
        prices(THU, 100.0, 94.0, 95.0),
        CALM,
        [report("NVDA", date(2025, 12, 10))],
        hours,
        PARAMS,
        AFTER_THU_CLOSE,
        context=SessionContext(
            peers={"NVDA": -5.0, "AMD": -3.5, "QQQ": -1.25},
            index="QQQ",
            index_move_pct=-1.25,
            beta=1.6,
            btc_move_pct=-2.0,
            btc_corr_30d=0.64,
        ),
    )
    assert shock is not None
    assert shock.to_record() == {
        "time": "2025-12-11T21:05:00Z",
        "kind": "earnings_shock",
        "symbol": "NVDA",
        "session": "2025-12-11",
        "gap_pct": -6.0,
        "move_pct": -5.0,
        "threshold_pct": round(3 * SAMPLE, 6),  # 3.025...
        "prior_close": 100.0,
        "open": 94.0,
        "price": 95.0,
        "peers": {"AMD": -3.5, "QQQ": -1.25},  # the name itself is not its own peer
        "btc_move_pct": -2.0,
        "btc_corr_30d": 0.64,
        "sigma_pct": round(SAMPLE, 6),
        "index": "QQQ",
        "index_move_pct": -1.25,
        "beta": 1.6,
        "net_move_pct": -3.0,  # -5 % - 1.6 × -1.25 %
        "earnings": True,
        "report_date": "2025-12-10",
        "timing": "after_close",
        "extended_pct": None,  # no after-hours trade was seen
        "extended_pre": False,
    }
    assert str(shock.key) == f"earnings_shock:NVDA:{3 * SAMPLE:.10g}:-:2025-12-11"


def test_a_six_percent_gap_on_a_volatile_name_does_not_fire(hours):
    earnings = [report("NVDA", date(2025, 12, 10))]
    assert evaluate_shock(prices(THU, 100.0, 94.0, 95.0), VOLATILE, earnings, hours, PARAMS, AFTER_THU_CLOSE) is None
    assert evaluate_shock(prices(THU, 100.0, 106.0, 105.0), VOLATILE, earnings, hours, PARAMS, AFTER_THU_CLOSE) is None


# Threshold 7 % throughout (no history: σ unknown). Report on Wed 12-10 after the close.
WED_REPORT = [report("NVDA", date(2025, 12, 10))]


@pytest.mark.parametrize(
    ("session", "open_", "price", "earnings", "expected"),
    [
        # the first session after the report: the gap or the close-to-close move fires
        (THU, 92.0, 95.0, WED_REPORT, True),  # gap -8 %
        (THU, 99.0, 91.0, WED_REPORT, True),  # gap -1 %, move -9 %
        (THU, 107.0, 107.0, WED_REPORT, True),  # exactly 7 % reaches the threshold
        (THU, 106.9, 106.9, WED_REPORT, None),
        # any other session: no shock (a gap is its own kind, see test_a_gap_without_a_report)
        (THU, 92.0, 95.0, [], None),
        (THU, 99.0, 91.0, [], None),
        (date(2025, 12, 12), 92.0, 95.0, WED_REPORT, None),  # a day late: not the report's session
        (date(2025, 12, 12), 99.0, 91.0, WED_REPORT, None),
        (date(2025, 12, 10), 99.0, 91.0, WED_REPORT, None),  # the report day itself, before the news
        (THU, 99.0, 91.0, [report("AMD", date(2025, 12, 10))], None),  # another company's report
    ],
)
def test_gap_or_move_after_a_report_and_nothing_otherwise(hours, session, open_, price, earnings, expected):
    now = datetime.combine(session, datetime.min.time(), UTC).replace(hour=22)
    shock = evaluate_shock(prices(session, 100.0, open_, price), [], earnings, hours, PARAMS, now)
    if expected is None:
        assert shock is None
    else:
        assert (shock.earnings, shock.threshold_pct, shock.sigma_pct) == (expected, 7.0, None)
        assert (shock.report_date, shock.timing) == (date(2025, 12, 10), "after_close")


def session_inputs(session: date, open_: float, price: float, earnings, complete: bool = True) -> Inputs:
    hours = default_market_hours()
    return Inputs(prices(session, 100.0, open_, price, complete), (), tuple(earnings), hours, SessionContext())


@pytest.mark.parametrize(
    ("session", "open_", "price", "earnings", "fires"),
    [
        (THU, 92.0, 95.0, [], True),  # -8 % at the open, nothing on the calendar
        (THU, 107.0, 101.0, [], True),
        (THU, 93.1, 90.0, [], False),  # under 7 % at the open: a slide later in the day is no gap
        (THU, 92.0, 95.0, WED_REPORT, False),  # after a report: an earnings shock instead
        (date(2025, 12, 12), 92.0, 95.0, WED_REPORT, True),  # a day late: not the report's news
    ],
)
def test_a_gap_without_a_report_is_its_own_kind(session, open_, price, earnings, fires):
    now = datetime.combine(session, datetime.min.time(), UTC).replace(hour=22)
    found = evaluate_gap(session_inputs(session, open_, price, earnings), PARAMS, now)
    assert (found is not None) == fires
    if found:
        assert found.kind == "gap" and str(found.key) == f"gap:NVDA:7:-:{session}"
        text = render_plain(found)
        assert "gap at the open" in text and "No earnings report on record" in text
        assert "after earnings" not in text


@pytest.mark.parametrize(
    ("open_", "price", "fires"),
    [
        (105.0, 96.0, True),  # +5 % at the open, -4 % at the close: σ unknown, 4 % and 2 %
        (95.0, 103.0, True),
        (105.0, 98.5, False),  # not 2 % through the prior close
        (103.0, 96.0, False),  # a 3 % gap is not a report-day gap
        (105.0, 104.0, False),  # held its gap
    ],
)
def test_a_report_day_reversal_is_its_own_kind(open_, price, fires):
    running = utc(2025, 12, 11, 18, 0)
    found = evaluate_reversal(session_inputs(THU, open_, price, WED_REPORT, complete=False), running)
    assert (found is not None) == fires
    assert evaluate_reversal(session_inputs(THU, open_, price, []), AFTER_THU_CLOSE) is None  # no report
    if found:
        assert found.report_date == date(2025, 12, 10)
        assert (
            render_plain(found)
            .splitlines()[0]
            .startswith(f"↩️ NVDA reverses after earnings: opened {fmt_pct(found.gap_pct)}, now")
        )


@pytest.mark.parametrize(
    ("reported", "timing", "session"),
    [
        (date(2025, 12, 10), "before_open", date(2025, 12, 10)),
        (date(2025, 12, 10), "unknown", date(2025, 12, 11)),
        (date(2025, 12, 12), "after_close", date(2025, 12, 15)),  # over the weekend
        (date(2025, 11, 26), "after_close", date(2025, 11, 28)),  # over Thanksgiving
        (date(2025, 11, 27), "before_open", date(2025, 11, 28)),
    ],
)
def test_each_timing_moves_the_shock_to_its_first_session(hours, reported, timing, session):
    earnings = [report("NVDA", reported, timing)]
    now = datetime.combine(session, datetime.min.time(), UTC).replace(hour=22)
    slide = prices(session, 100.0, 99.0, 91.0)  # a -9 % move only counts on the report's session
    shock = evaluate_shock(slide, [], earnings, hours, PARAMS, now)
    assert (shock.earnings, shock.report_date, shock.timing) == (True, reported, timing)
    day_after = hours.next_trading_day(session)
    later = datetime.combine(day_after, datetime.min.time(), UTC).replace(hour=22)
    assert evaluate_shock(prices(day_after, 100.0, 99.0, 91.0), [], earnings, hours, PARAMS, later) is None


def test_a_running_session_is_judged_on_the_latest_price(hours):
    running = prices(THU, 100.0, 99.0, 92.5, complete=False)  # 11:00 New York, down 7.5 % so far
    shock = evaluate_shock(running, [], WED_REPORT, hours, PARAMS, utc(2025, 12, 11, 16, 0))
    assert (shock.gap_pct, shock.move_pct, shock.price) == (pytest.approx(-1.0), pytest.approx(-7.5), 92.5)
    # Later in the same session: a new time, but the same key (the engine stores it once).
    again = evaluate_shock(running, [], WED_REPORT, hours, PARAMS, utc(2025, 12, 11, 18, 0))
    assert again.key == shock.key and str(shock.key) == "earnings_shock:NVDA:7:-:2025-12-11"
    # Before the open nothing is judged; a recovered price is no shock.
    assert evaluate_shock(running, [], WED_REPORT, hours, PARAMS, utc(2025, 12, 11, 14, 29)) is None
    recovered = prices(THU, 100.0, 99.0, 97.0, complete=False)
    assert evaluate_shock(recovered, [], WED_REPORT, hours, PARAMS, utc(2025, 12, 11, 19, 0)) is None


def test_shock_ignores_a_closed_day_and_refuses_a_naive_clock(hours):
    saturday = prices(date(2025, 12, 13), 100.0, 90.0, 90.0)  # a bar on a closed day: not a session
    assert evaluate_shock(saturday, [], [], hours, PARAMS, utc(2025, 12, 14)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_shock(prices(THU, 100.0, 90.0, 90.0), [], [], hours, PARAMS, datetime(2025, 12, 11, 22))


# -- prices from daily bars ------------------------------------------------------------


def bar(day: date, open_: float, close: float) -> Bar:
    ts = datetime.combine(day, datetime.min.time(), UTC)
    return Bar("NVDA", "1d", ts, open_, max(open_, close), min(open_, close), close, None, "test")


BARS = [bar(date(2025, 12, 9), 99.0, 100.0), bar(date(2025, 12, 10), 100.5, 101.0), bar(THU, 95.0, 96.0)]


def test_session_prices_from_daily_bars(hours):
    assert session_prices("NVDA", BARS, THU, hours=hours) == SessionPrices(
        "NVDA", THU, 101.0, 95.0, 96.0, True, date(2025, 12, 10)
    )
    assert session_prices("NVDA", BARS, THU, complete=False).complete is False
    assert session_prices("NVDA", BARS, date(2025, 12, 9)) is None  # no bar before it
    assert session_prices("NVDA", BARS, date(2025, 12, 12)) is None  # no bar for it
    holed = [BARS[0], BARS[2]]  # 12-10 missing: 12-09's close is not THU's prior close
    assert session_prices("NVDA", holed, THU, hours=hours) is None
    assert session_prices("NVDA", holed, THU).prior_close == 100.0  # without a calendar: the bar before
    assert closes_before_session(BARS, THU) == [100.0, 101.0]


# -- the shipped 2025 data -------------------------------------------------------------


def golden(replay, hours, symbol: str, session: date, params: ShockParams = PARAMS):
    bars = replay.series(symbol, "1d")
    peers = {}
    for peer in ("QQQ", "NVDA", "AMD", "ORCL"):
        peer_prices = session_prices(peer, replay.series(peer, "1d"), session, hours=hours)
        peers[peer] = peer_prices.move_pct
    now = hours.session(session).close
    return evaluate_shock(
        session_prices(symbol, bars, session, hours=hours),
        closes_before_session(bars, session),
        replay.earnings,
        hours,
        params,
        now,
        context=SessionContext(peers=peers, btc_corr_30d=0.5),
    )


def test_orcl_after_its_december_report_is_a_shock(replay, hours):
    # Prior close 220.8795 (12-10), open 188.7989, close 196.9503 on 12-11.
    # σ of the 60 returns 09-17 .. 12-10 is 2.979 %: 3σ = 8.94 %, so the threshold is 7 %.
    shock = golden(replay, hours, "ORCL", date(2025, 12, 11))
    assert shock is not None
    assert (shock.prior_close, shock.open, shock.price) == (220.8795, 188.7989, 196.9503)
    assert shock.gap_pct == pytest.approx(-14.524, abs=1e-3)
    assert shock.move_pct == pytest.approx(-10.834, abs=1e-3)
    assert shock.sigma_pct == pytest.approx(2.9793, abs=1e-4)
    assert (shock.threshold_pct, shock.earnings, shock.report_date, shock.timing) == (
        7.0,
        True,
        date(2025, 12, 10),
        "after_close",
    )
    assert shock.peers == {
        "QQQ": pytest.approx(-0.3234, abs=1e-4),
        "NVDA": pytest.approx(-1.5508, abs=1e-4),
        "AMD": pytest.approx(0.0045, abs=1e-4),
    }
    assert str(shock.key) == "earnings_shock:ORCL:7:-:2025-12-11"


def test_nvda_after_its_november_report_stays_under_the_threshold(replay, hours):
    # Prior close 186.0742 (11-19), open 195.4817 (gap +5.056 %), close 180.2083 (move -3.152 %).
    # σ of the 60 returns 08-27 .. 11-19 is 2.361 %: 3σ = 7.08 %, so the threshold is 7 % and
    # neither the gap nor the reversal reaches it.
    assert golden(replay, hours, "NVDA", date(2025, 11, 20)) is None
    # With a 5 % setting the same gap is a shock.
    shock = golden(replay, hours, "NVDA", date(2025, 11, 20), ShockParams(shock_pct=5.0))
    assert (shock.gap_pct, shock.move_pct) == (pytest.approx(5.0558, abs=1e-4), pytest.approx(-3.1525, abs=1e-4))
    assert (shock.threshold_pct, shock.sigma_pct) == (5.0, pytest.approx(2.3613, abs=1e-4))
    assert (shock.earnings, shock.report_date) == (True, date(2025, 11, 19))


# -- heads-ups -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (utc(2025, 12, 8, 20, 0), []),  # Mon: the report is two sessions away
        (utc(2025, 12, 9, 5, 0), ["ORCL"]),  # Tue 00:00 New York
        (utc(2025, 12, 9, 14, 0), ["ORCL"]),
        (utc(2025, 12, 10, 4, 59), ["ORCL"]),  # still Tue 23:59 in New York
        (utc(2025, 12, 10, 5, 0), []),  # Wed in New York: the report day itself
        (utc(2025, 12, 10, 22, 0), []),
        (utc(2025, 11, 18, 15, 0), ["NVDA"]),
    ],
)
def test_orcl_heads_up_is_due_on_the_trading_day_before(replay, hours, now, due):
    alerts = evaluate_heads_up(replay.earnings, WATCHLIST, hours, now)
    assert [a.symbol for a in alerts] == due


def test_heads_up_alert_and_key(replay, hours):
    (alert,) = evaluate_heads_up(replay.earnings, WATCHLIST, hours, utc(2025, 12, 9, 14, 0))
    assert alert == EarningsUpcoming("ORCL", utc(2025, 12, 9, 14, 0), date(2025, 12, 10), "after_close")
    assert str(alert.key) == "earnings_upcoming:ORCL:-:-:2025-12-10"
    assert evaluate_heads_up(replay.earnings, ("NVDA", "AMD"), hours, utc(2025, 12, 9, 14, 0)) == []


@pytest.mark.parametrize(
    ("reported", "timing", "now", "due"),
    [
        # Monday 12-15 before the open: announced on Friday, and again over the weekend (same key)
        (date(2025, 12, 15), "before_open", utc(2025, 12, 11, 15, 0), False),
        (date(2025, 12, 15), "before_open", utc(2025, 12, 12, 15, 0), True),
        (date(2025, 12, 15), "before_open", utc(2025, 12, 13, 15, 0), True),
        (date(2025, 12, 15), "before_open", utc(2025, 12, 14, 23, 0), True),
        (date(2025, 12, 15), "before_open", utc(2025, 12, 15, 15, 0), False),
        # Friday 11-28 after the close, Thanksgiving in between: due from Wednesday
        (date(2025, 11, 28), "after_close", utc(2025, 11, 25, 15, 0), False),
        (date(2025, 11, 28), "after_close", utc(2025, 11, 26, 15, 0), True),
        (date(2025, 11, 28), "after_close", utc(2025, 11, 27, 15, 0), True),
        (date(2025, 11, 28), "unknown", utc(2025, 11, 26, 15, 0), True),
        # a report dated on a Saturday: announced on Friday
        (date(2025, 12, 13), "unknown", utc(2025, 12, 12, 15, 0), True),
    ],
)
def test_heads_up_over_weekends_and_holidays(hours, reported, timing, now, due):
    earnings = [report("AVGO", reported, timing), report("IBM", reported, timing)]  # IBM is not watched
    alerts = evaluate_heads_up(earnings, WATCHLIST, hours, now)
    expected = [EarningsUpcoming("AVGO", now, reported, timing)] if due else []
    assert alerts == expected


def test_heads_ups_come_in_report_date_order(hours):
    earnings = [
        report("NVDA", date(2025, 12, 15)),
        report("AMD", date(2025, 12, 15)),
        report("TSM", date(2025, 12, 14), "before_open"),
    ]
    alerts = evaluate_heads_up(earnings, WATCHLIST, hours, utc(2025, 12, 12, 15, 0))
    assert [(a.symbol, a.report_date) for a in alerts] == [
        ("TSM", date(2025, 12, 14)),
        ("AMD", date(2025, 12, 15)),
        ("NVDA", date(2025, 12, 15)),
    ]


def test_beta_to_the_market_is_the_slope_of_daily_returns(replay):
    """ORCL's β to QQQ before 11 Dec 2025, against numpy's least-squares slope of the same 60 returns."""
    orcl, qqq = replay.series("ORCL", "1d"), replay.series("QQQ", "1d")
    day = date(2025, 12, 11)
    closes = np.array([[a.close, b.close] for a, b in zip(orcl, qqq, strict=True) if a.ts.date() < day][-61:])
    returns = closes[1:] / closes[:-1] - 1
    slope = np.polyfit(returns[:, 1], returns[:, 0], 1)[0]
    assert market_beta(orcl, qqq, day) == pytest.approx(slope, rel=1e-9)
    assert market_beta(orcl[:15], qqq[:15], day) is None  # fewer than 20 returns
    flat = [Bar("QQQ", "1d", b.ts, 1.0, 1.0, 1.0, 1.0, None, "test") for b in qqq]
    assert market_beta(orcl, flat, day) is None
