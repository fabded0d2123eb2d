"""Streamed crypto prices (issue 12): ccxt.pro's real websocket code against a fake Binance stream
on 127.0.0.1 (tests/fakes/exchange_ws.py), its markets from the REST fake (tests/fakes/exchange.py).

What a user relies on: every streamed price reaches the store and the rules at once; a stream
that drops reconnects by itself; one that goes silent hands over to the REST poll within the
stated time and takes over again when it recovers; repeated and late messages change nothing;
``/status`` says which exchange streams and how fresh it is.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.collector import Collector
from bot.config import load_settings
from bot.domain import Quote
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import default_market_hours
from bot.render import html_to_plain, render
from bot.rules.levels import LevelBreak
from bot.rules.registry import decode_alert
from bot.sources.crypto import CryptoSource
from bot.sources.crypto_stream import CryptoStream
from bot.sources.validate import JumpGuard
from bot.sources.yahoo_stream import YahooStream
from bot.store import chats, open_db
from bot.telegram.status import render_status
from bot.wiring import crypto_streams
from tests.fakes.exchange import BINANCE_TICKERS, FakeExchange
from tests.fakes.exchange_ws import FakeExchangeStream
from tests.test_delivery import until

TICKER = "btcusdt@ticker"


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeExchange, FakeExchangeStream]]:
    async with FakeExchange() as rest, FakeExchangeStream() as ws:
        yield rest, ws


@dataclass
class Taken:
    quotes: list[Quote]

    def __call__(self, quotes: list[Quote]) -> None:
        self.quotes += quotes

    def prices(self) -> list[float]:
        return [q.price for q in self.quotes]


def make_stream(rest: FakeExchange, ws: FakeExchangeStream, on_quotes, **kwargs) -> tuple[CryptoStream, HealthRegistry]:
    health = HealthRegistry()
    options = {"binance": {"api_url": rest.url, "ws_url": ws.url}}
    stream = CryptoStream(
        kwargs.pop("exchanges", ("binance",)), ("BTC",), on_quotes=on_quotes, guard=JumpGuard(20.0),
        health=health, clock=SystemClock(), exchange_options={**options, **kwargs.pop("options", {})},
        backoff_base=0.05, backoff_cap=0.2, rng=random.Random(1), **kwargs,
    )  # fmt: skip
    return stream, health


@asynccontextmanager
async def streaming(stream: CryptoStream | YahooStream) -> AsyncIterator[None]:
    """``stream`` running for the time of the block (as the bot's market jobs run it)."""
    task = asyncio.get_running_loop().create_task(stream.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def ms(offset: float = 0.0) -> int:
    return int((time.time() + offset) * 1000)


async def test_every_streamed_price_is_taken_with_its_venue(servers):
    rest, ws = servers
    taken = Taken([])
    stream, health = make_stream(rest, ws, taken)
    async with streaming(stream):
        await ws.subscribed(TICKER)
        for price in (90_120.5, 90_080.0, 89_990.25):
            await ws.ticker("BTCUSDT", price, open_=88_000.0)
            await until(lambda p=price: p in taken.prices(), 10, f"{price} taken")
        assert taken.prices() == [90_120.5, 90_080.0, 89_990.25]
        quote = taken.quotes[-1]
        assert (quote.symbol, quote.source) == ("BTC", "binance")
        assert quote.change_24h_pct == pytest.approx((89_990.25 / 88_000 - 1) * 100, abs=1e-3)
        assert stream.live(SystemClock().now())
        assert health.streams["binance"].state == "streaming"
        assert rest.requests[BINANCE_TICKERS] == 0, "a stream needs no polled ticker"


async def test_repeated_and_late_messages_are_dropped(servers):
    rest, ws = servers
    taken = Taken([])
    stream, _ = make_stream(rest, ws, taken)
    async with streaming(stream):
        await ws.subscribed(TICKER)
        first = ms()
        await ws.ticker("BTCUSDT", 90_500.0, first)
        await until(lambda: len(taken.quotes) == 1, 10, "the first price")
        # Each one read before the next is sent (a burst may be read as one message: the latest).
        await ws.ticker("BTCUSDT", 90_500.0, first)  # the same message again
        await until(lambda: stream.messages == 2, 10, "the repeat read")
        await ws.ticker("BTCUSDT", 89_000.0, first - 2_000)  # an older one, arriving late
        await until(lambda: stream.messages == 3, 10, "the late one read")
        await ws.ticker("BTCUSDT", 90_400.0, first + 1_000)
        await until(lambda: len(taken.quotes) >= 2, 10, "the next price")
        assert taken.prices() == [90_500.0, 90_400.0], "a repeat or a late print is not a new price"


async def test_a_dropped_stream_reconnects_and_streams_again(servers):
    rest, ws = servers
    taken = Taken([])
    stream, health = make_stream(rest, ws, taken)
    async with streaming(stream):
        await ws.subscribed(TICKER)
        await ws.ticker("BTCUSDT", 90_100.0)
        await until(lambda: len(taken.quotes) == 1, 10, "a price")
        await ws.drop()
        await ws.subscribed(TICKER, times=2)  # it came back by itself
        await ws.ticker("BTCUSDT", 90_200.0)
        await until(lambda: 90_200.0 in taken.prices(), 10, "a price after the reconnect")
        assert ws.connections >= 2
        assert health.streams["binance"].state == "streaming"


async def test_an_unreachable_stream_is_down_in_status_and_fails_over(servers):
    rest, ws = servers
    await ws.go_offline()
    taken = Taken([])
    # OKX's stream is pointed at a port nobody listens on: both are down, tried in turn.
    stream, health = make_stream(
        rest,
        ws,
        taken,
        exchanges=("binance", "okx"),
        options={"okx": {"api_url": rest.url, "ws_url": "ws://127.0.0.1:9"}},
    )
    async with streaming(stream):
        await until(lambda: {"binance", "okx"} <= set(health.streams), 10, "both streams tried")
        await until(lambda: all(s.state == "down" for s in health.streams.values()), 10, "both down")
        since = {name: s.down_since for name, s in health.streams.items()}
        tried = stream.attempts
        await until(lambda: stream.attempts >= tried + 4, 10, "each tried again")
        assert {name: s.down_since for name, s in health.streams.items()} == since, "down since the first failure"
        assert not stream.live(SystemClock().now())
        health.collecting = True
        status = render_status("en", SystemClock().now(), SystemClock().now(), 1, True, health)
        assert "❌ binance stream: down for" in status and "prices polled meanwhile" in status
        assert "❌ okx stream: down for" in status
        await ws.come_back()
        await ws.subscribed(TICKER)
        await ws.ticker("BTCUSDT", 90_300.0)
        await until(lambda: taken.prices() == [90_300.0], 10, "the stream back")
        status = render_status("en", SystemClock().now(), SystemClock().now(), 1, True, health)
        assert "📡 binance stream: live, last message" in status


# -- the stream in the pipeline: collector, store, engine -----------------------------------------


@dataclass
class Pipeline:
    collector: Collector
    engine: Engine
    stream: CryptoStream

    def decided(self) -> list[str]:
        return [kind for (kind,) in self.collector.db.execute("SELECT kind FROM alerts ORDER BY id")]

    def stored(self) -> list[tuple[float, str]]:
        return list(self.collector.db.execute("SELECT price, source FROM quotes WHERE symbol = 'BTC' ORDER BY id"))


@asynccontextmanager
async def pipeline(
    tmp_path: Path, rest: FakeExchange, ws: FakeExchangeStream, silent: float = 20.0
) -> AsyncIterator[Pipeline]:
    """The live path of a streamed price: stream → collector → store → engine, running for the block."""
    settings = load_settings(
        crypto_exchanges="binance",
        crypto_symbols="BTC",
        default_levels="BTC:90000,92000",
        crypto_stream_silent_seconds=silent,
        crypto_poll_seconds=600,  # prices a few minutes old are still fresh (stale after 3 polls)
        crypto_exchange_options={"binance": {"api_url": rest.url, "ws_url": ws.url}},
    )
    db = open_db(tmp_path / "bot.db")
    clock, health, hours = SystemClock(), HealthRegistry(), default_market_hours()
    chats.remember_chat(db, 7, "private", now=clock.now())
    chats.set_subscribed(db, 7, True, now=clock.now())
    crypto = CryptoSource.from_settings(settings, health=health, clock=clock, rate_limit_ms=0)
    engine = Engine(db, settings, hours, fresh=health.is_fresh)
    collector = Collector(db, settings, clock, health, hours, crypto=crypto)
    collector.on_stored = engine.decide
    health.collecting = True
    (stream,) = crypto_streams(settings, collector, crypto.guard)
    try:
        async with streaming(stream):
            yield Pipeline(collector, engine, stream)
    finally:
        await collector.close()
        db.close()


async def test_a_streamed_print_through_a_level_is_decided_at_once(tmp_path, servers):
    rest, ws = servers
    async with pipeline(tmp_path, rest, ws) as bot:
        bot.collector.refresh_staleness(SystemClock().now())
        assert not bot.collector.health.is_fresh("BTC"), "no price yet"
        await ws.subscribed(TICKER)
        await ws.ticker("BTCUSDT", 90_400.0)
        await until(lambda: len(bot.stored()) == 1, 10, "the first price stored")
        assert bot.collector.health.is_fresh("BTC"), "fresh with its first streamed price, not at the next check"
        assert bot.decided() == []
        await ws.ticker("BTCUSDT", 89_600.0)  # through 90,000 (and its 0.25 % band), between two polls
        await until(lambda: bot.decided() != [], 10, "an alert decided")
        assert bot.decided() == ["level_break"]
        assert bot.stored() == [(90_400.0, "binance"), (89_600.0, "binance")]
        kind, payload = bot.collector.db.execute("SELECT kind, payload FROM alerts").fetchone()
        text = html_to_plain(render(decode_alert(kind, payload), "en"))
        assert "Price from Binance · BTC/USDT" in text.splitlines(), "the venue and its instrument, said plainly"
        assert rest.requests[BINANCE_TICKERS] == 0


async def test_a_silent_stream_hands_over_to_the_poll_and_takes_back(tmp_path, servers):
    rest, ws = servers
    clock = SystemClock()
    async with pipeline(tmp_path, rest, ws, silent=2.0) as bot:
        ws.pump("BTCUSDT", 90_150.0, every=0.05)
        await until(lambda: bot.stream.live(clock.now()), 10, "streaming")
        await bot.collector.poll_crypto(clock.now())
        assert rest.requests[BINANCE_TICKERS] == 0, "while it streams, the poll leaves the prices alone"

        ws.mute()  # still connected, nothing sent: after 2 s it counts as down
        await until(lambda: not bot.stream.live(clock.now()), 10, "the stream seen silent")
        await bot.collector.poll_crypto(clock.now())
        assert rest.requests[BINANCE_TICKERS] == 1, "the poll fetches the price while the stream is silent"
        assert bot.stored()[-1][1] == "binance"

        ws.pump("BTCUSDT", 90_160.0, every=0.05)  # it recovers: reconnected, streaming again
        await until(lambda: bot.stream.live(clock.now()), 15, "streaming again")
        await bot.collector.poll_crypto(clock.now())
        assert rest.requests[BINANCE_TICKERS] == 1
        assert bot.stored()[-1][0] == 90_160.0


async def test_a_wick_only_a_one_minute_candle_shows_is_an_alert(tmp_path, servers):
    """The tickers never go below 90,350; the minute's candle dips to 89,400 and back: the
    prices between two ticker messages cross 90,000, and the bot says so once the minute is over."""
    rest, ws = servers
    async with pipeline(tmp_path, rest, ws) as bot:
        await ws.subscribed(TICKER)
        await ws.subscribed("btcusdt@kline_1m")
        minute = (ms() // 60_000 - 3) * 60_000
        for offset, price in ((-30_000, 90_400.0), (10_000, 90_380.0), (40_000, 90_350.0)):
            await ws.ticker("BTCUSDT", price, minute + offset)
            await until(lambda p=price: (p, "binance") in bot.stored(), 10, f"{price} stored")
        await ws.kline("BTCUSDT", minute, 90_390.0, 90_420.0, 89_400.0, 90_340.0)
        assert bot.decided() == [], "a minute still forming is not told"
        await ws.kline("BTCUSDT", minute + 60_000, 90_340.0, 90_360.0, 90_330.0, 90_350.0)  # the next one begins
        await until(lambda: bot.decided() != [], 10, "the wick told")
        kind, payload = bot.collector.db.execute("SELECT kind, payload FROM alerts ORDER BY id").fetchone()
        first = decode_alert(kind, payload)
        assert isinstance(first, LevelBreak)
        assert (first.level, first.direction, first.extreme, first.back) == (90_000.0, "down", 89_400.0, False)
        assert "BTC dipped below 90,000" in html_to_plain(render(first, "en"))
        candles = list(bot.collector.db.execute("SELECT low, source FROM bars WHERE interval = '1m'"))
        assert candles == [(89_400.0, "binance")]
