"""Streamed equity prices (issue 12): the bot's Yahoo stream against a fake streamer on 127.0.0.1
that encodes with yfinance's own protobuf definitions (tests/fakes/yahoo_ws.py).

What a user relies on: after-hours and pre-market prices arrive the moment Yahoo sends them;
a dropped stream comes back by itself; names without a streamed price are polled; garbage in
the stream changes nothing; ``/status`` says whether Yahoo streams.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator

import pytest

from bot.clock import SystemClock
from bot.domain import Quote
from bot.health import HealthRegistry
from bot.sources.validate import JumpGuard
from bot.sources.yahoo_stream import YahooStream
from bot.telegram.status import render_status
from tests.fakes.yahoo_ws import POST_MARKET, PRE_MARKET, FakeYahooStream
from tests.test_delivery import until
from tests.test_stream import ms, streaming


@pytest.fixture
async def yahoo() -> AsyncIterator[FakeYahooStream]:
    async with FakeYahooStream() as server:
        yield server


class Watch:
    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.quotes: list[Quote] = []

    def __call__(self, quotes: list[Quote]) -> None:
        self.quotes += quotes

    def prices(self, symbol: str) -> list[float]:
        return [q.price for q in self.quotes if q.symbol == symbol]


def make(url: str, watch: Watch, **kwargs) -> tuple[YahooStream, HealthRegistry]:
    health = HealthRegistry()
    stream = YahooStream(
        lambda: watch.names, on_quotes=watch, guard=JumpGuard(20.0), health=health, clock=SystemClock(),
        url=url, backoff_base=0.05, backoff_cap=0.2, rng=random.Random(2), **kwargs,
    )  # fmt: skip
    return stream, health


async def test_after_hours_and_pre_market_prices_arrive_as_yahoo_sends_them(yahoo):
    watch = Watch("ORCL", "NVDA")
    stream, health = make(yahoo.url, watch)
    async with streaming(stream):
        await yahoo.subscribed("ORCL")
        assert yahoo.subscriptions["NVDA"] >= 1
        await yahoo.price("ORCL", 198.31, hours=POST_MARKET, change_pct=-10.2)  # 16:05, after the report
        await until(lambda: watch.prices("ORCL") == [198.31], 10, "the after-hours price")
        quote = watch.quotes[0]
        assert (quote.symbol, quote.source, quote.change_24h_pct) == ("ORCL", "yfinance", pytest.approx(-10.2))
        await yahoo.price("NVDA", 181.2, hours=PRE_MARKET)
        await until(lambda: watch.prices("NVDA") == [181.2], 10, "the pre-market price")
        assert stream.covered(SystemClock().now()) == {"ORCL", "NVDA"}
        assert health.streams["yahoo"].state == "streaming"


async def test_repeats_late_prices_and_garbage_change_nothing(yahoo):
    watch = Watch("ORCL")
    stream, _ = make(yahoo.url, watch)
    async with streaming(stream):
        await yahoo.subscribed("ORCL")
        first = ms()
        await yahoo.price("ORCL", 200.0, first)
        await until(lambda: len(watch.quotes) == 1, 10, "a price")
        for n, send in enumerate(
            (
                yahoo.price("ORCL", 200.0, first),  # the same again
                yahoo.price("ORCL", 150.0, first - 5_000),  # an older one, late
                yahoo.send_raw('{"type": "pricing", "message": "not base64 at all!"}'),
                yahoo.send_raw("<html>"),
            ),
            start=2,
        ):
            await send
            await until(lambda n=n: stream.messages == n, 10, f"message {n} read")
        await yahoo.price("ORCL", 199.5, first + 1_000)
        await until(lambda: len(watch.quotes) == 2, 10, "the next price")
        assert watch.prices("ORCL") == [200.0, 199.5]


async def test_a_dropped_stream_reconnects_and_names_join_as_the_watchlist_grows(yahoo):
    watch = Watch("ORCL")
    stream, _ = make(yahoo.url, watch, resubscribe=0.2)
    async with streaming(stream):
        await yahoo.subscribed("ORCL")
        watch.names.append("AVGO")  # a chat added a name: it joins at the next subscription
        await yahoo.subscribed("AVGO")
        await yahoo.drop()
        await until(lambda: yahoo.connections >= 2, 10, "a new connection")
        await yahoo.subscribed("ORCL", times=yahoo.subscriptions["ORCL"] + 1)
        await yahoo.price("AVGO", 402.0)
        await until(lambda: watch.prices("AVGO") == [402.0], 10, "a price after the reconnect")


async def test_an_unreachable_streamer_is_down_in_status_and_covers_nothing():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    watch = Watch("ORCL")
    stream, health = make(f"ws://127.0.0.1:{port}/?version=2", watch)
    async with streaming(stream):
        await until(lambda: "yahoo" in health.streams and health.streams["yahoo"].state == "down", 10, "down")
        assert stream.covered(SystemClock().now()) == set()
        health.collecting = True
        now = SystemClock().now()
        status = render_status("en", now, now, 1, True, health)
        assert "❌ yahoo stream: down for" in status and "(yahoo: unreachable); prices polled meanwhile" in status
