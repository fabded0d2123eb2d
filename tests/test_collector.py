"""sources → store through the real ccxt code against the fake exchange: backfill, gaps, polls, staleness."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.collector import Collector
from bot.config import load_settings
from bot.health import HealthRegistry
from bot.markettime import default_market_hours, next_bar_close
from bot.sources.crypto import CryptoSource
from bot.store import chats, market, open_db
from tests.fakes.exchange import BINANCE_KLINES, BINANCE_TICKERS, NOW, FakeExchange


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def exchange():
    async with FakeExchange() as server:
        yield server


@pytest.fixture
def clock():
    return ManualClock(NOW)


def make_collector(db, exchange, clock, health=None):
    settings = load_settings(crypto_exchanges="binance,okx")
    health = health or HealthRegistry()
    crypto = CryptoSource(
        ("binance", "okx"),
        ("BTC",),
        api_urls={"binance": exchange.url, "okx": exchange.url},
        clock=clock,
        health=health,
        sleep=_no_sleep,
        rng=random.Random(3),
        timeout=5.0,
        rate_limit_ms=1,
    )
    return Collector(db, settings, clock, health, default_market_hours(), crypto=crypto)


async def test_first_start_backfills_enough_history_for_the_90d_correlation(tmp_path, exchange, clock):
    db = open_db(tmp_path / "bot.db")
    collector = make_collector(db, exchange, clock)
    await collector.backfill(clock.now())
    await collector.close()
    daily = market.load_bars(db, "BTC", "1d")
    hourly = market.load_bars(db, "BTC", "1h")
    assert len(daily) >= 90 + 63 // 5 * 2  # ≥ 63 sessions of returns, with weekends
    assert daily[-1].ts == NOW.replace(hour=0, minute=0) - timedelta(days=1)  # today's bar is still forming
    assert hourly[-1].ts == NOW.replace(minute=0) - timedelta(hours=1)
    assert all(b.source == "binance" for b in daily)


async def test_restart_backfills_only_the_gap(tmp_path, exchange, clock):
    db = open_db(tmp_path / "bot.db")
    collector = make_collector(db, exchange, clock)
    await collector.backfill(clock.now())
    await collector.close()
    stored = db["bars"].count
    db.close()

    clock.advance(timedelta(hours=5))
    exchange.now = clock.now()
    exchange.queries.clear()
    db = open_db(tmp_path / "bot.db")
    collector = make_collector(db, exchange, clock)
    await collector.backfill(clock.now())
    await collector.close()
    starts = [int(q["startTime"]) for q in exchange.queried(BINANCE_KLINES)]
    assert len(starts) == 2  # one page per interval, starting where the stored history ends
    assert db["bars"].count == stored + 5


async def test_poll_stores_a_quote_and_series_become_fresh(tmp_path, exchange, clock):
    db = open_db(tmp_path / "bot.db")
    health = HealthRegistry(collecting=True)
    collector = make_collector(db, exchange, clock, health)
    collector.refresh_staleness(clock.now())
    assert not health.is_fresh("BTC")
    await collector.poll_crypto(clock.now())
    quote = market.latest_quotes(db)["BTC"]
    assert quote.source == "binance" and quote.price > 10_000
    assert health.is_fresh("BTC")
    clock.advance(timedelta(seconds=collector.settings.crypto_poll_seconds * 3 + 1))
    collector.refresh_staleness(clock.now())
    assert not health.is_fresh("BTC") and "BTC" in health.stale
    await collector.close()


@pytest.mark.parametrize("subscribers", [1, 10_000])
async def test_requests_per_poll_cycle_do_not_depend_on_the_number_of_chats(tmp_path, exchange, clock, subscribers):
    db = open_db(tmp_path / "bot.db")
    with db.atomic():
        for chat_id in range(1, subscribers + 1):
            chats.remember_chat(db, chat_id, "private", now=NOW)
            chats.set_subscribed(db, chat_id, True, now=NOW)
    collector = make_collector(db, exchange, clock)
    await collector.backfill(clock.now())
    exchange.requests.clear()
    for _ in range(3):
        clock.advance(30)
        await collector.poll_crypto(clock.now())
    await collector.close()
    assert exchange.requests[BINANCE_TICKERS] == 3  # one batched fetch_tickers per poll
    assert sum(exchange.requests.values()) == 3, exchange.requests


async def test_bar_sync_waits_for_the_next_completed_bar(tmp_path, exchange, clock):
    db = open_db(tmp_path / "bot.db")
    collector = make_collector(db, exchange, clock)
    await collector.backfill(clock.now())
    exchange.requests.clear()
    await collector.poll_crypto(clock.now())  # 14:30: backfill just synced, nothing new until 15:01
    assert exchange.requests[BINANCE_KLINES] == 0
    clock.set(next_bar_close(clock.now(), "1h", None, around_the_clock=True) + timedelta(minutes=1))
    exchange.now = clock.now()
    await collector.poll_crypto(clock.now())
    assert exchange.requests[BINANCE_KLINES] == 1
    assert market.last_bar_time(db, "BTC", "1h") == NOW.replace(minute=0)
    await collector.close()


class _Equities:
    """An equity source as the collector sees it: what it was told of recent reports, what it was asked."""

    name = "yfinance"

    def __init__(self) -> None:
        self.explained: list[set[str]] = []

    def explain_jumps(self, symbols) -> None:
        self.explained.append(set(symbols))

    async def fetch_quotes(self, symbols):
        return []

    async def fetch_bars(self, symbol, interval, start, end=None):
        return []


async def test_before_each_equity_poll_the_source_learns_which_names_just_reported(tmp_path, clock):
    from datetime import UTC, date, datetime

    from bot.domain import EarningsDate

    db = open_db(tmp_path / "bot.db")
    settings = load_settings(_env_file=None, equity_watchlist="ORCL,NVDA,QQQ")
    equities = _Equities()
    collector = Collector(db, settings, clock, HealthRegistry(), default_market_hours(), equities=equities)
    market.upsert_earnings(
        db,
        [EarningsDate("ORCL", date(2025, 12, 10), "after_close", "yfinance"),
         EarningsDate("NVDA", date(2025, 11, 19), "after_close", "yfinance")],
        datetime(2025, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    await collector.poll_equities(datetime(2025, 12, 11, 14, 35, tzinfo=UTC))  # the morning after ORCL's report
    await collector.poll_equities(datetime(2025, 12, 16, 14, 35, tzinfo=UTC))  # days later
    assert equities.explained == [{"ORCL"}, set()]
