"""Earnings the minute they land (issue 12): ORCL reported on Wed 10 Dec 2025 after the close;
an after-hours print past the shock threshold is told at once, against the regular close,
with BTC's move since the close beside it; the gap at Thursday's open is its reply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import Bar, EarningsDate, Quote
from bot.render import html_to_plain, render
from bot.rules.earnings_extended import EarningsExtended
from bot.rules.registry import decode_alert
from bot.store import chats, market, open_db, outbox
from tests.test_engine import HOURS, engine

WED, THU = date(2025, 12, 10), date(2025, 12, 11)
CLOSE_WED = datetime(2025, 12, 10, 21, 0, tzinfo=UTC)  # 16:00 New York
OPEN_THU = datetime(2025, 12, 11, 14, 30, tzinfo=UTC)


def at(when: datetime, symbol: str, price: float) -> Quote:
    return Quote(symbol, price, when, "yfinance" if symbol != "BTC" else "binance", when)


def history(db, symbol: str, last_close: float) -> None:
    """60 calm sessions (±1 % a day) ending on Wednesday at ``last_close``."""
    days = [d for d in (WED - timedelta(days=n) for n in range(120, -1, -1)) if HOURS.is_trading_day(d)][-61:]
    closes = [last_close * (1.01 if i % 2 else 0.99) for i in range(len(days) - 1)] + [last_close]
    market.upsert_bars(
        db,
        [Bar(symbol, "1d", datetime(d.year, d.month, d.day, tzinfo=UTC), c, c, c, c, 1e6, "yfinance")
         for d, c in zip(days, closes, strict=True)],
    )  # fmt: skip


@pytest.fixture
def orcl(tmp_path):
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 1, "private", now=CLOSE_WED)
    chats.set_subscribed(db, 1, True, now=CLOSE_WED)
    history(db, "ORCL", 223.01)
    history(db, "NVDA", 183.78)
    market.upsert_earnings(db, [EarningsDate("ORCL", WED, "after_close", "yfinance")], CLOSE_WED)
    return db


def step(eng, db, when: datetime, *quotes: Quote):
    market.insert_quotes(db, list(quotes))
    return eng.process(when, quotes=list(quotes))


def kinds(decided) -> list[str]:
    return [d.alert.kind for d in decided]


def test_an_after_hours_drop_on_the_report_is_told_at_once_and_the_open_replies_to_it(orcl):
    db, eng = orcl, engine(orcl, fresh=lambda s: True)
    step(eng, db, CLOSE_WED - timedelta(minutes=1), at(CLOSE_WED - timedelta(minutes=1), "ORCL", 223.01),
         at(CLOSE_WED - timedelta(minutes=1), "BTC", 92_500.0))  # fmt: skip
    quiet = step(eng, db, CLOSE_WED + timedelta(minutes=3), at(CLOSE_WED + timedelta(minutes=3), "ORCL", 219.0))
    assert "earnings_extended" not in kinds(quiet), "−1.8 %: not past the threshold"

    when = CLOSE_WED + timedelta(minutes=6)  # 16:06 New York, the print that says it
    decided = step(eng, db, when, at(when, "ORCL", 199.0), at(when, "BTC", 91_600.0))
    [told] = [d.alert for d in decided if d.alert.kind == "earnings_extended"]
    assert isinstance(told, EarningsExtended)
    assert told.move_pct == pytest.approx((199.0 / 223.01 - 1) * 100)
    assert told.btc_move_pct == pytest.approx((91_600 / 92_500 - 1) * 100)
    text = html_to_plain(render(told, "en", "America/New_York")).splitlines()
    assert text[0] == "⚡ ORCL −10.8 % after hours, on its report"
    assert text[1] == "199.00 vs the regular close of 223.01"
    assert "BTC −1.0 % since Wed 16:00" in text
    assert "The open on Thu 11 Dec is told as a reply to this message." in text

    later = CLOSE_WED + timedelta(minutes=30)
    assert "earnings_extended" not in kinds(step(eng, db, later, at(later, "ORCL", 195.0))), "once per report"

    opened = OPEN_THU + timedelta(minutes=1)  # the gap at Thursday's open: the shock, as a reply
    shock = step(eng, db, opened, at(opened, "ORCL", 188.80), at(opened, "BTC", 90_100.0))
    assert "earnings_shock" in kinds(shock)
    [gap] = [d.alert for d in shock if d.alert.kind == "earnings_shock"]
    lines = html_to_plain(render(gap, "en")).splitlines()
    assert lines[1] == "Gap at the open −15.3 % (188.80 vs 223.01)"
    assert lines[2] == "After hours −12.6 %: the open went further", "the open answers the first trades"

    # Thursday's close: the day's end, in the same thread (a reply to the first message)
    day = Bar("ORCL", "1d", datetime(2025, 12, 11, tzinfo=UTC), 188.80, 200.07, 184.45, 198.85, 4e7, "yfinance")
    market.upsert_bars(db, [day])
    closed = eng.process(OPEN_THU + timedelta(hours=6, minutes=31), bars=[day])
    [close] = [d.alert for d in closed if d.alert.kind == "earnings_close"]
    lines = html_to_plain(render(close, "en")).splitlines()
    assert lines[:2] == [
        "📌 ORCL closed −10.8 % on its report",
        "Open 188.80 (−15.3 %) · close 198.85 · prior close 223.01",
    ]
    rows = {kind: (id_, follows) for id_, kind, follows in db.execute("SELECT id, kind, follows FROM alerts")}
    assert rows["earnings_close"][1] == rows["earnings_extended"][0], "a reply to the thread's first message"
    rows = {kind: (id_, follows) for id_, kind, follows in db.execute("SELECT id, kind, follows FROM alerts")}
    assert rows["earnings_shock"][1] == rows["earnings_extended"][0]


def test_a_close_is_told_only_in_a_thread_an_alert_opened(orcl):
    db, eng = orcl, engine(orcl, fresh=lambda s: True)
    day = Bar("NVDA", "1d", datetime(2025, 12, 11, tzinfo=UTC), 183.0, 184.0, 170.0, 171.0, 4e7, "yfinance")
    market.upsert_bars(db, [day])
    closed = eng.process(OPEN_THU + timedelta(hours=6, minutes=31), bars=[day])
    assert "earnings_close" not in kinds(closed), "NVDA did not report: no thread to close"


def test_no_report_no_extended_alert_and_none_while_the_session_runs(orcl):
    db, eng = orcl, engine(orcl, fresh=lambda s: True)
    step(eng, db, CLOSE_WED - timedelta(minutes=1), at(CLOSE_WED - timedelta(minutes=1), "NVDA", 183.78))
    when = CLOSE_WED + timedelta(minutes=6)
    assert "earnings_extended" not in kinds(step(eng, db, when, at(when, "NVDA", 160.0))), "NVDA did not report"
    during = CLOSE_WED - timedelta(hours=2)  # 14:00 New York on the report day, before the report
    assert "earnings_extended" not in kinds(step(eng, db, during, at(during, "ORCL", 190.0)))


def test_a_stale_name_is_not_judged(orcl):
    db, eng = orcl, engine(orcl, fresh=lambda s: s != "ORCL")
    step(eng, db, CLOSE_WED - timedelta(minutes=1), at(CLOSE_WED - timedelta(minutes=1), "ORCL", 223.01))
    when = CLOSE_WED + timedelta(minutes=6)
    assert "earnings_extended" not in kinds(step(eng, db, when, at(when, "ORCL", 199.0)))


def test_the_alert_round_trips_through_the_outbox(orcl):
    db, eng = orcl, engine(orcl, fresh=lambda s: True)
    step(eng, db, CLOSE_WED - timedelta(minutes=1), at(CLOSE_WED - timedelta(minutes=1), "ORCL", 223.01))
    when = CLOSE_WED + timedelta(minutes=6)
    step(eng, db, when, at(when, "ORCL", 199.0))
    kind, payload = db.execute("SELECT kind, payload FROM alerts WHERE kind = 'earnings_extended'").fetchone()
    alert = decode_alert(kind, payload)
    assert isinstance(alert, EarningsExtended) and alert.session == THU and alert.since == CLOSE_WED
    assert outbox.pending_count(db) > 0


async def test_an_after_hours_print_streamed_by_yahoo_is_told_before_the_next_open(orcl):
    """The whole path live: Yahoo's stream (the fake, yfinance's protobuf) → collector → store →
    engine → outbox, on a clock that runs at real speed from Wednesday 16:05 New York."""
    from bot.clock import SimulatedClock
    from bot.collector import Collector
    from bot.config import load_settings
    from bot.engine.engine import Engine
    from bot.health import HealthRegistry
    from bot.sources.validate import JumpGuard
    from bot.wiring import equity_stream
    from tests.fakes.yahoo_ws import POST_MARKET, FakeYahooStream
    from tests.test_delivery import until
    from tests.test_stream import streaming

    db = orcl
    clock, health = SimulatedClock(CLOSE_WED + timedelta(minutes=5)), HealthRegistry(collecting=True)
    market.insert_quotes(db, [at(CLOSE_WED - timedelta(minutes=1), "ORCL", 223.01)])
    async with FakeYahooStream() as yahoo:
        settings = load_settings(equity_watchlist="ORCL,NVDA", yahoo_stream_url=yahoo.url)
        engine = Engine(db, settings, HOURS, fresh=health.is_fresh)
        collector = Collector(db, settings, clock, health, HOURS)
        collector.on_stored = engine.decide
        stream = equity_stream(settings, collector, JumpGuard(20.0))
        async with streaming(stream):
            await yahoo.subscribed("ORCL")
            stamp = int(clock.now().timestamp() * 1000)
            await yahoo.price("ORCL", 199.0, stamp, hours=POST_MARKET)
            told = lambda: db.execute("SELECT count(*) FROM alerts WHERE kind = 'earnings_extended'").fetchone()[0]  # noqa: E731
            await until(lambda: told() == 1, 10, "the after-hours shock")
            assert clock.now() < OPEN_THU
            assert outbox.pending_count(db) == 1, "queued for the subscribed chat"
