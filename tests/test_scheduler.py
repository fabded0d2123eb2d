"""The market-data jobs with an injected clock: market-hours gating (holiday, half day), and the
whole bot collecting from fake exchange and Yahoo servers while /status tells the truth."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
import yfinance as yf

from bot.clock import ManualClock
from bot.collector import Collector
from bot.config import load_settings
from bot.health import HealthRegistry
from bot.markettime import default_market_hours
from bot.scheduler import market_jobs
from bot.sources.crypto import CryptoSource
from bot.sources.equities import EquitySource
from bot.store import market, open_db
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.fakes.yahoo import FakeYahoo, reset_yfinance_state
from tests.telegram_harness import bot_settings, running_bot

WATCHLIST = "NVDA,AMD,ORCL,QQQ"  # the symbols the fake Yahoo has data for


@pytest.fixture
def downloads(monkeypatch):
    calls: list[datetime] = []
    real = yf.download

    def spy(*args, **kwargs):
        calls.append(kwargs["interval"])
        return real(*args, **kwargs)

    monkeypatch.setattr(yf, "download", spy)
    return calls


@pytest.fixture
def yahoo():
    reset_yfinance_state()
    fake = FakeYahoo(now=datetime(2025, 12, 23, 21, 30, tzinfo=UTC)).start()
    yield fake
    fake.stop()


def equity_jobs(tmp_path, yahoo, clock, **chosen):
    settings = load_settings(equity_watchlist=WATCHLIST, **chosen)
    health = HealthRegistry(collecting=True)
    source = EquitySource(session=yahoo.session(), health=health, clock=clock, cache_dir=tmp_path / "yf")
    db = open_db(tmp_path / "bot.db")
    collector = Collector(db, settings, clock, health, default_market_hours(), equities=source)
    return market_jobs(collector).by_name("equity poll"), collector, health


async def _tick_through(poller, clock, yahoo, until, step=timedelta(minutes=1)) -> list[datetime]:
    ran = []
    while clock.now() < until:
        clock.advance(step)
        yahoo.now = clock.now()
        if await poller.run():
            ran.append(clock.now())
    return ran


async def test_equity_polls_follow_the_half_day_and_skip_the_holiday(tmp_path, yahoo, downloads):
    clock = ManualClock(datetime(2025, 12, 24, 17, 50, tzinfo=UTC))  # 12:50 New York, closes 13:00
    poller, collector, _health = equity_jobs(tmp_path, yahoo, clock, equity_extended_hours=False)
    ran = await _tick_through(poller, clock, yahoo, datetime(2025, 12, 25, 23, 0, tzinfo=UTC))
    before_close = [t for t in ran if t < datetime(2025, 12, 24, 18, 0, tzinfo=UTC)]
    after_close = [t for t in ran if t >= datetime(2025, 12, 24, 18, 0, tzinfo=UTC)]
    assert len(before_close) == 9  # 17:51 .. 17:59, once a minute
    assert after_close == [datetime(2025, 12, 24, 18, 0, tzinfo=UTC)]  # one poll after the close
    assert not any(t.date() == datetime(2025, 12, 25).date() for t in ran)  # Christmas: closed
    assert market.latest_quotes(collector.db)["ORCL"].source == "yfinance"


async def test_with_extended_hours_equity_polls_go_on_until_four_hours_after_the_close(tmp_path, yahoo, downloads):
    clock = ManualClock(datetime(2025, 12, 24, 17, 50, tzinfo=UTC))  # 12:50 New York, a half day
    poller, _collector, _health = equity_jobs(tmp_path, yahoo, clock)
    every = timedelta(minutes=5)  # the clock moves 5 minutes a tick: 48 polls, not 240
    ran = await _tick_through(poller, clock, yahoo, datetime(2025, 12, 25, 23, 0, tzinfo=UTC), step=every)
    after_close = [t for t in ran if t >= datetime(2025, 12, 24, 18, 0, tzinfo=UTC)]
    assert after_close[0] == datetime(2025, 12, 24, 18, 0, tzinfo=UTC)
    assert after_close[-1] == datetime(2025, 12, 24, 21, 55, tzinfo=UTC)  # 16:55: after hours end at 17:00
    assert len(after_close) == 48
    assert not any(t.date() == datetime(2025, 12, 25).date() for t in ran)  # Christmas: no pre-market either


async def test_equity_series_go_stale_only_while_the_market_is_open(tmp_path, yahoo):
    clock = ManualClock(datetime(2025, 12, 23, 21, 30, tzinfo=UTC))  # after Tuesday's close
    poller, collector, health = equity_jobs(tmp_path, yahoo, clock)
    assert await poller.run()
    assert health.is_fresh("NVDA")
    clock.set(datetime(2025, 12, 24, 14, 0, tzinfo=UTC))  # overnight: Tuesday's close stands
    collector.refresh_staleness(clock.now())
    assert health.is_fresh("NVDA")
    clock.set(datetime(2025, 12, 24, 14, 31, tzinfo=UTC))  # a minute after the open
    collector.refresh_staleness(clock.now())
    assert health.is_fresh("NVDA")  # still in the grace period after the open
    clock.set(datetime(2025, 12, 24, 14, 34, tzinfo=UTC))  # open, and no poll for 3 intervals
    collector.refresh_staleness(clock.now())
    assert not health.is_fresh("NVDA")


@pytest.mark.slow  # the real jobs on the JobQueue, in real time
async def test_bot_collects_from_fake_sources_and_status_tells_the_truth(tmp_path):
    reset_yfinance_state()
    now = datetime(2025, 11, 21, 15, 0, tzinfo=UTC)  # a Friday, market open
    yahoo = FakeYahoo(now=now).start()
    telegram = FakeTelegram()
    await telegram.start()
    async with FakeExchange(now=now) as exchange:
        settings = bot_settings(telegram, tmp_path, equity_watchlist=WATCHLIST, crypto_exchanges="binance,okx")
        clock = ManualClock(now)
        health = HealthRegistry()
        crypto = CryptoSource(
            ("binance", "okx"),
            ("BTC",),
            api_urls={"binance": exchange.url, "okx": exchange.url},
            clock=clock,
            health=health,
            rng=random.Random(1),
            timeout=5.0,
            rate_limit_ms=1,
        )
        equities = EquitySource(session=yahoo.session(), health=health, clock=clock, cache_dir=tmp_path / "yf")
        db = open_db(settings.database_path)
        collector = Collector(
            db,
            settings,
            clock,
            health,
            default_market_hours(),
            crypto=crypto,
            equities=equities,
            earnings=equities,
        )
        user = FakeUser(7)
        try:
            async with running_bot(
                settings, telegram, clock=clock, health=health, runner=market_jobs(collector), symbols=equities
            ) as bot:
                jobs = {job.name for job in bot.app.job_queue.jobs()}
                assert {"backfill", "crypto poll", "equity poll", "earnings calendar"} <= jobs
                for _ in range(200):
                    collected = market.latest_quotes(db).keys() >= {"BTC", "NVDA", "ORCL"}
                    if collected and db["bars"].count and db["earnings"].count:
                        break
                    await asyncio.sleep(0.05)
                telegram.user_sends("/status", user)
                [status] = await telegram.wait_for(user.id)
        finally:
            yahoo.stop()
            await telegram.stop()
    assert "✅ binance: last success" in status.text
    assert "✅ yfinance: last success" in status.text
    assert "All series are fresh." in status.text
    assert market.load_earnings(db, ["ORCL"])  # the calendar was refreshed at start
    assert market.load_bars(db, "ORCL", "1d")[-1].ts.date().isoformat() == "2025-11-20"


@pytest.mark.parametrize("subscribers", [1, 10_000])
async def test_one_download_per_equity_poll_whatever_the_number_of_chats(tmp_path, yahoo, downloads, subscribers):
    from bot.store import chats

    clock = ManualClock(datetime(2025, 12, 23, 15, 0, tzinfo=UTC))
    yahoo.now = clock.now()
    poller, collector, _health = equity_jobs(tmp_path, yahoo, clock)
    with collector.db.atomic():
        for chat_id in range(1, subscribers + 1):
            chats.remember_chat(collector.db, chat_id, "private")
            chats.set_subscribed(collector.db, chat_id, True)
    await collector.backfill(clock.now())
    downloads.clear()
    yahoo.clear_log()
    ran = await _tick_through(poller, clock, yahoo, clock.now() + timedelta(minutes=5))
    assert len(ran) == 5
    assert downloads == ["1m"] * 5  # one batched download per poll
    assert len(yahoo.chart_requests()) == 5 * len(WATCHLIST.split(","))  # yfinance: one chart call per ticker
