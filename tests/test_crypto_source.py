"""CryptoSource against a fake Binance/OKX server on loopback: ccxt's real request and parsing code runs.

The fake serves the real 2025 BTC series (bot/data/market_2025) with ``now`` at
2025-11-22 14:30 UTC; sleeps are recorded, not slept; the clock is a ManualClock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import socket
from datetime import UTC, datetime, timedelta

import ccxt
import pytest

from bot.backoff import Backoff
from bot.clock import ManualClock
from bot.config import load_settings
from bot.health import HealthRegistry
from bot.logs import redact
from bot.sources.base import MarketSource, SourceUnavailable, UnknownSymbol
from bot.sources.ccxt_errors import ccxt_errors, is_rate_limit
from bot.sources.ccxt_exchange import QUOTE_PREFERENCE, pick_pair, point_api_at
from bot.sources.crypto import CryptoSource
from tests.fakes.exchange import (
    BINANCE_KLINES,
    BINANCE_MARKETS,
    BINANCE_TICKERS,
    NOW,
    OKX_CANDLES,
    OKX_HISTORY_CANDLES,
    OKX_MARKETS,
    OKX_TICKERS,
    FakeExchange,
    load_candles,
)

TICKERS = {"binance": BINANCE_TICKERS, "okx": OKX_TICKERS}
MARKETS = {"binance": BINANCE_MARKETS, "okx": OKX_MARKETS}
# BTC's last hourly close before NOW, and the 24 h change against the close 24 h earlier
# (2025-11-21 13:00-14:00 UTC bar), both from bot/data/market_2025/BTC-USD_1h.csv.
BTC_LAST = 83903.88
BTC_CHANGE_24H = -0.1592


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def fake():
    async with FakeExchange(slow_seconds=5.0) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def health() -> HealthRegistry:
    return HealthRegistry()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def make_source(fake, clock, health, sleep):
    made: list[CryptoSource] = []

    def make(exchanges=("binance", "okx"), symbols=("BTC",), **kwargs) -> CryptoSource:
        # rate_limit_ms=1: ccxt's own limiter still runs, at 1 ms per cost unit instead of 50-110 ms.
        options = {
            "api_urls": dict.fromkeys(exchanges, fake.url),
            "clock": clock,
            "health": health,
            "sleep": sleep,
            "rng": random.Random(7),
            "timeout": 5.0,
            "rate_limit_ms": 1,
        }
        source = CryptoSource(exchanges, symbols, **(options | kwargs))
        made.append(source)
        return source

    yield make
    for source in made:
        await source.close()


def warnings_from(caplog, logger: str = "bot.sources") -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(logger) and r.levelno >= logging.WARNING]


# -- quotes --------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["binance", "okx"])
@pytest.mark.parametrize("symbols", [["BTC"], ["BTC", "ETH", "SOL"]])
async def test_one_batched_ticker_request_per_exchange_per_poll(fake, make_source, exchange, symbols):
    source = make_source((exchange,))
    for poll in (1, 2, 3):
        quotes = await source.fetch_quotes(symbols)
        assert [q.symbol for q in quotes] == symbols
        assert {q.source for q in quotes} == {exchange}
        assert fake.requests[TICKERS[exchange]] == poll
    assert fake.requests[MARKETS[exchange]] == 1  # markets are loaded once
    if exchange == "binance":  # every pair rode in the one request
        sent = json.loads(fake.queried(BINANCE_TICKERS)[-1]["symbols"])
        assert sent == [s + "USDT" for s in symbols]


async def test_quote_carries_canonical_symbol_exchange_time_and_change(fake, make_source, clock):
    fake.now = NOW - timedelta(seconds=4)  # the exchange stamped its ticker 4 s before we asked
    (quote,) = await make_source().fetch_quotes(["btc"])
    assert quote.symbol == "BTC"
    assert quote.source == "binance"
    assert quote.price == BTC_LAST
    assert quote.ts == NOW - timedelta(seconds=4)
    assert quote.ts.tzinfo is not None
    assert quote.fetched_at == clock.now()
    assert quote.change_24h_pct == pytest.approx(BTC_CHANGE_24H, abs=1e-3)
    assert isinstance(make_source(), MarketSource)


async def test_pair_prefers_usdt_and_an_override_wins(fake, make_source):
    await make_source(("binance",)).fetch_quotes(["BTC"])  # the fake also lists BTC/USDC and BTC/EUR
    assert json.loads(fake.queried(BINANCE_TICKERS)[-1]["symbols"]) == ["BTCUSDT"]

    source = make_source(("binance",), pairs={"binance": {"btc": "BTC/USDC"}})
    (quote,) = await source.fetch_quotes(["BTC"])
    assert json.loads(fake.queried(BINANCE_TICKERS)[-1]["symbols"]) == ["BTCUSDC"]
    assert (quote.symbol, quote.source) == ("BTC", "binance")


@pytest.mark.parametrize(
    ("exchange", "listed", "expected"),
    [
        ("kraken", ["BTC/EUR", "BTC/USDT", "BTC/USD"], "BTC/USD"),
        ("coinbase", ["BTC/USDT", "BTC/USDC", "BTC/USD"], "BTC/USD"),
        ("binance", ["BTC/USDC", "BTC/EUR", "BTC/USDT"], "BTC/USDT"),
        ("okx", ["BTC/USDC", "BTC/EUR"], "BTC/USDC"),
        ("binance", ["BTC/EUR", "BTC/TRY"], None),
        ("someexchange", ["BTC/USDC", "BTC/USD"], "BTC/USD"),
    ],
)
def test_pick_pair_follows_quote_preference(exchange, listed, expected):
    markets = {pair: {"base": pair.split("/")[0], "quote": pair.split("/")[1], "spot": True} for pair in listed}
    markets["BTC/USDT:USDT"] = {"base": "BTC", "quote": "USDT", "spot": False}  # a perpetual swap
    markets["ETH/USD"] = {"base": "ETH", "quote": "USD", "spot": True}
    quotes = QUOTE_PREFERENCE.get(exchange, ("USDT", "USD", "USDC"))
    assert pick_pair("BTC", markets, quotes) == expected


def test_pick_pair_skips_inactive_markets():
    markets = {
        "BTC/USDT": {"base": "BTC", "quote": "USDT", "spot": True, "active": False},
        "BTC/USDC": {"base": "BTC", "quote": "USDC", "spot": True, "active": True},
    }
    assert pick_pair("BTC", markets, QUOTE_PREFERENCE["binance"]) == "BTC/USDC"


async def test_symbol_missing_on_the_first_exchange_comes_from_the_next(fake, make_source):
    quotes = await make_source().fetch_quotes(["BTC", "OKB"])  # OKB is listed on OKX only
    assert [(q.symbol, q.source) for q in quotes] == [("BTC", "binance"), ("OKB", "okx")]
    assert fake.requests[BINANCE_TICKERS] == fake.requests[OKX_TICKERS] == 1


async def test_symbol_listed_nowhere_is_an_unknown_symbol(make_source):
    source = make_source()
    with pytest.raises(UnknownSymbol, match=r"binance: no market for DOGE.*okx: no market for DOGE"):
        await source.fetch_quotes(["DOGE"])
    with pytest.raises(UnknownSymbol):
        await source.fetch_bars("DOGE", "1d", utc(2025, 11, 1))


async def test_exchange_answering_invalid_symbol_fails_over(fake, make_source, health):
    fake.fail(BINANCE_TICKERS, "bad-symbol")
    (quote,) = await make_source().fetch_quotes(["BTC"])
    assert (quote.source, quote.price) == ("okx", BTC_LAST)
    assert "binance" not in health.sources  # the exchange is up; it just did not know the pair


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, 0, -84_000.0])
async def test_price_that_is_not_a_positive_number_is_dropped_and_logged(fake, make_source, caplog, bad):
    fake.set_price("BTC", bad, exchange="binance")
    quotes = await make_source(("binance",)).fetch_quotes(["BTC", "ETH"])
    assert [q.symbol for q in quotes] == ["ETH"]
    assert any("rejected BTC price" in r.getMessage() for r in warnings_from(caplog))


@pytest.mark.parametrize("bad", [None, "NaN", 0, -84_000.0])
async def test_bad_price_is_never_returned_the_next_exchange_prices_it(fake, make_source, bad):
    fake.set_price("BTC", bad, exchange="binance")
    quotes = {q.symbol: q for q in await make_source().fetch_quotes(["BTC", "ETH"])}
    assert (quotes["BTC"].source, quotes["BTC"].price) == ("okx", BTC_LAST)
    assert all(math.isfinite(q.price) and q.price > 0 for q in quotes.values())


async def test_bad_price_everywhere_is_source_unavailable(fake, make_source):
    fake.set_price("BTC", None)
    with pytest.raises(SourceUnavailable, match="binance: no valid price for BTC; okx: no valid price for BTC"):
        await make_source().fetch_quotes(["BTC"])


async def test_price_jump_is_rejected_and_a_normal_move_accepted(fake, make_source, caplog):
    source = make_source(("binance",), max_jump_pct=20)
    assert [q.price for q in await source.fetch_quotes(["BTC"])] == [BTC_LAST]

    fake.set_price("BTC", 110_000.0)  # +31 %: a bad print, not a move
    with pytest.raises(SourceUnavailable, match="no valid price"):
        await source.fetch_quotes(["BTC"])
    assert any("rejected BTC price 110000" in r.getMessage() for r in warnings_from(caplog))

    fake.set_price("BTC", 86_000.0)  # +2.5 % from the last good price
    assert [q.price for q in await source.fetch_quotes(["BTC"])] == [86_000.0]


async def test_seeded_price_guards_the_first_poll(fake, make_source):
    source = make_source(("binance",))
    source.seed("BTC", 50_000.0)  # e.g. the last stored close; the fake's 83,904 is 68 % away
    with pytest.raises(SourceUnavailable):
        await source.fetch_quotes(["BTC"])


# -- failover, retries, health ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason", "binance_requests"),
    [
        ("429", "binance: rate limited (429)", 1),  # told to slow down: no retry
        ("418", "binance: IP banned for rate limits (418)", 1),
        ("503", "binance: not available (503)", 2),
        ("500-html", "binance: not available (500)", 2),
        ("timeout", "binance: timeout", 2),
        ("truncated", "binance: malformed response", 2),
    ],
)
async def test_failover_to_okx(fake, make_source, health, sleep, caplog, clock, fault, reason, binance_requests):
    fake.fail(BINANCE_TICKERS, fault, times=2)
    source = make_source(timeout=0.3 if fault == "timeout" else 5.0)
    (quote,) = await source.fetch_quotes(["BTC"])

    assert (quote.symbol, quote.source, quote.price) == ("BTC", "okx", BTC_LAST)
    assert fake.requests[BINANCE_TICKERS] == binance_requests
    assert len(sleep.delays) == binance_requests - 1
    binance, okx = health.sources["binance"], health.sources["okx"]
    assert (binance.up, binance.last_error, binance.failing_since) == (False, reason, clock.now())
    assert okx.up and okx.last_success == clock.now()
    failures = [r for r in warnings_from(caplog, "bot.sources.crypto") if "binance" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is None  # one line, no traceback


async def test_transient_failure_is_retried_on_the_same_exchange(fake, make_source, sleep, health):
    fake.fail(BINANCE_TICKERS, "503")
    (quote,) = await make_source(backoff_base=0.5).fetch_quotes(["BTC"])
    assert quote.source == "binance"
    assert fake.requests[BINANCE_TICKERS] == 2 and fake.requests[OKX_TICKERS] == 0
    assert len(sleep.delays) == 1 and 0 <= sleep.delays[0] < 0.5
    assert health.sources["binance"].up


async def test_rate_limited_exchange_rests_before_being_asked_again(fake, make_source, clock):
    source = make_source(cooldown=30, cooldown_cap=60)
    fake.fail(BINANCE_TICKERS, "429")
    assert [q.source for q in await source.fetch_quotes(["BTC"])] == ["okx"]

    clock.advance(20)  # still resting: binance is not asked at all
    assert [q.source for q in await source.fetch_quotes(["BTC"])] == ["okx"]
    assert fake.requests[BINANCE_TICKERS] == 1

    clock.advance(100)  # past the longest cooldown (30 s + up to 30 s of jitter)
    assert [q.source for q in await source.fetch_quotes(["BTC"])] == ["binance"]


async def test_all_exchanges_down_names_every_reason(fake, make_source, health):
    fake.fail(BINANCE_TICKERS, "503", times=2)
    fake.fail(OKX_TICKERS, "429")
    with pytest.raises(SourceUnavailable) as caught:
        await make_source().fetch_quotes(["BTC"])
    message = str(caught.value)
    assert "binance: not available (503)" in message and "okx: rate limited" in message
    assert "http" not in message and "Traceback" not in message
    assert not health.sources["binance"].up and not health.sources["okx"].up


async def test_unreachable_exchange_fails_over(fake, make_source, health):
    source = make_source(api_urls={"binance": closed_port_url(), "okx": fake.url})
    (quote,) = await source.fetch_quotes(["BTC"])
    assert quote.source == "okx"
    assert health.sources["binance"].last_error == "binance: unreachable"


async def test_health_follows_each_exchange_and_recovers(fake, make_source, health, clock):
    source = make_source()
    fake.fail(BINANCE_TICKERS, "503", times=2)
    await source.fetch_quotes(["BTC"])
    failed_at = clock.now()
    assert health.sources["binance"].failing_since == failed_at
    assert health.sources["okx"].last_success == failed_at

    clock.advance(30)
    (quote,) = await source.fetch_quotes(["BTC"])
    assert quote.source == "binance"
    binance = health.sources["binance"]
    assert binance.up and binance.last_success == clock.now() and binance.failing_since is None
    assert binance.last_error == "binance: not available (503)"  # kept for /status
    assert health.sources["okx"].last_success == failed_at  # not asked this time


# -- bars ------------------------------------------------------------------------------


def expected_bars(interval: str, since: datetime) -> list[tuple]:
    """The real candles the fake serves that start at or after ``since`` and are complete at NOW."""
    step = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}[interval]
    rows = [(datetime.fromtimestamp(c.ts / 1000, UTC), c) for c in load_candles()[interval]]
    return [
        (ts, float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume))
        for ts, c in rows
        if since <= ts and ts + step <= NOW
    ]


@pytest.mark.parametrize(
    ("exchange", "interval", "since", "page"),
    [
        ("binance", "1h", utc(2025, 6, 1), 1000),  # 4,000 rows with the data's own gaps
        ("okx", "1h", utc(2025, 10, 20), 100),
        ("binance", "1d", utc(2025, 1, 1), 1000),
        ("okx", "1d", utc(2025, 1, 1), 100),
    ],
)
async def test_paginated_bars_are_stitched_without_duplicates_or_gaps(
    fake, make_source, exchange, interval, since, page
):
    bars = await make_source((exchange,)).fetch_bars("BTC", interval, since)
    want = expected_bars(interval, since)
    assert len(want) > page or interval == "1d"
    assert [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars] == want
    assert all((b.symbol, b.interval, b.source) == ("BTC", interval, exchange) for b in bars)
    requests = fake.requests[BINANCE_KLINES] + fake.requests[OKX_CANDLES] + fake.requests[OKX_HISTORY_CANDLES]
    assert requests == math.ceil(len(want) / page)
    if interval == "1d":
        assert all(b.ts.hour == b.ts.minute == 0 and b.ts.utcoffset() == timedelta(0) for b in bars)


@pytest.mark.parametrize(("interval", "step"), [("1h", timedelta(hours=1)), ("1d", timedelta(days=1))])
async def test_bar_still_forming_is_left_out(fake, make_source, clock, interval, step):
    source = make_source(("binance",))
    bars = await source.fetch_bars("BTC", interval, utc(2025, 11, 20))
    assert bars[-1].ts + step <= NOW < bars[-1].ts + 2 * step  # the 14:00 hour / 22 Nov is still open

    later = NOW + step  # that bar has closed, the next one is forming
    clock.set(later)
    fake.now = later
    assert (await source.fetch_bars("BTC", interval, utc(2025, 11, 20)))[-1].ts == bars[-1].ts + step


async def test_since_and_until_bound_the_series(make_source):
    source = make_source(("binance",))
    bars = await source.fetch_bars("BTC", "1d", utc(2025, 3, 1, 5), until=utc(2025, 3, 8))
    assert [b.ts.day for b in bars] == [2, 3, 4, 5, 6, 7]  # starts at or after since, ends before until
    assert await source.fetch_bars("BTC", "1h", utc(2025, 11, 22, 14, 5)) == []  # only the open bar


async def test_invalid_candle_rows_are_dropped_and_logged(fake, make_source, caplog):
    fake.spoiled.add(int(utc(2025, 3, 3).timestamp() * 1000))
    bars = await make_source(("binance",)).fetch_bars("BTC", "1d", utc(2025, 3, 1), until=utc(2025, 3, 6))
    assert [b.ts.day for b in bars] == [1, 2, 4, 5]
    assert any("dropped 1 of" in r.getMessage() for r in warnings_from(caplog))


@pytest.mark.parametrize("fault", ["truncated", "503", "429"])
async def test_bars_fail_over_whole_series_from_the_next_exchange(fake, make_source, health, fault):
    fake.fail(BINANCE_KLINES, fault, times=2)
    bars = await make_source().fetch_bars("BTC", "1d", utc(2025, 10, 1))
    assert {b.source for b in bars} == {"okx"}
    assert [(b.ts, b.close) for b in bars] == [(w[0], w[4]) for w in expected_bars("1d", utc(2025, 10, 1))]
    assert not health.sources["binance"].up


async def test_failure_half_way_through_pagination_restarts_on_the_next_exchange(fake, make_source):
    since = utc(2025, 6, 1)
    fake.fail(BINANCE_KLINES, "503", times=2, after=1)  # page 1 arrives, page 2 fails twice
    bars = await make_source().fetch_bars("BTC", "1h", since)
    assert fake.requests[BINANCE_KLINES] == 3
    assert {b.source for b in bars} == {"okx"}  # one exchange's series, not a mix
    assert [b.ts for b in bars] == [w[0] for w in expected_bars("1h", since)]


async def test_fetch_bars_rejects_bad_arguments(make_source):
    source = make_source()
    with pytest.raises(ValueError, match="interval"):
        await source.fetch_bars("BTC", "5m", utc(2025, 11, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone"):
        await source.fetch_bars("BTC", "1d", datetime(2025, 11, 1))


# -- error mapping -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected", "reason", "rate_limit"),
    [
        (
            ccxt.DDoSProtection('binance 429 Too Many Requests {"code":-1003}'),
            SourceUnavailable,
            "binance: rate limited (429)",
            True,
        ),
        (
            ccxt.DDoSProtection('binance 418 I\'m a teapot {"code":-1003}'),
            SourceUnavailable,
            "binance: IP banned for rate limits (418)",
            True,
        ),
        (
            ccxt.RateLimitExceeded("okx GET http://h/api/v5/market/tickers 429 Too Many Requests"),
            SourceUnavailable,
            "okx: rate limited (429)",
            True,
        ),
        (ccxt.RequestTimeout("okx GET http://h/api/v5/market/tickers"), SourceUnavailable, "okx: timeout", False),
        (
            ccxt.ExchangeNotAvailable("binance GET http://h/api/v3/klines 503 Service Unavailable"),
            SourceUnavailable,
            "binance: not available (503)",
            False,
        ),
        (
            ccxt.ExchangeNotAvailable("binance GET http://h/api/v3/klines"),
            SourceUnavailable,
            "binance: unreachable",
            False,
        ),
        (ccxt.OnMaintenance('okx {"code":"50001"}'), SourceUnavailable, "okx: down for maintenance", False),
        (ccxt.NetworkError("kraken"), SourceUnavailable, "kraken: network error", False),
        (
            ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'),
            UnknownSymbol,
            "binance: unknown symbol",
            False,
        ),
        (
            ccxt.AuthenticationError("coinbase 401 Unauthorized"),
            SourceUnavailable,
            "coinbase: authentication refused (401)",
            False,
        ),
        (
            ccxt.BadResponse("binance 200 OK: the body is not valid JSON"),
            SourceUnavailable,
            "binance: malformed response",
            False,
        ),
        (ccxt.ExchangeError('okx {"code":"1"}'), SourceUnavailable, "okx: exchange error", False),
        (
            AttributeError("'str' object has no attribute 'get'"),
            SourceUnavailable,
            "binance: malformed response",
            False,
        ),
        (TypeError("string indices must be integers"), SourceUnavailable, "binance: malformed response", False),
        (
            ValueError("invalid literal for int() with base 10: 'NaN'"),
            SourceUnavailable,
            "binance: malformed response",
            False,
        ),
        (RuntimeError("a bug of ours"), RuntimeError, "a bug of ours", False),  # not ccxt's: passes through
        (asyncio.CancelledError(), asyncio.CancelledError, "", False),  # never swallowed
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_ccxt_errors_map_to_the_project_exceptions(error, expected, reason, rate_limit):
    exchange = reason.split(":")[0] if ":" in reason else "binance"
    with pytest.raises(expected) as caught, ccxt_errors(exchange):
        raise error
    if expected in (SourceUnavailable, UnknownSymbol):
        assert caught.value.__cause__ is error
        assert str(caught.value) == reason
        assert is_rate_limit(caught.value) is rate_limit
    else:
        assert caught.value is error


# -- backoff -------------------------------------------------------------------------


def test_backoff_is_bounded_and_grows_to_the_cap():
    backoff = Backoff(base=1, cap=60, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(200)]
    for n, delay in enumerate(delays):
        assert 0 <= delay < min(60, 2**n)
    assert backoff.ceiling() == 60 and backoff.attempts == 200
    assert max(delays[10:]) > 30  # late delays use the whole capped range


def test_backoff_is_jittered_and_deterministic_for_a_seed():
    def draws(seed: int) -> list[float]:
        backoff = Backoff(base=1, cap=60, rng=random.Random(seed))
        return [backoff.next_delay() for _ in range(8)]

    assert draws(42) == draws(42)
    assert draws(42) != draws(43)
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
    assert len({d / c for d, c in zip(draws(42), ceilings, strict=True)}) == 8  # not a fixed fraction


class Extreme:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(("value", "first", "fifth"), [(0.0, 0.0, 0.0), (0.999, 0.999, 15.984)])
def test_backoff_full_jitter_spans_zero_to_the_ceiling(value, first, fifth):
    backoff = Backoff(base=1, cap=60, rng=Extreme(value))
    delays = [backoff.next_delay() for _ in range(5)]
    assert delays[0] == pytest.approx(first) and delays[4] == pytest.approx(fifth)


def test_backoff_reset_starts_again_from_base():
    backoff = Backoff(base=0.5, cap=8, rng=Extreme(0.999))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0 and backoff.ceiling() == 0.5 and backoff.next_delay() < 0.5


@pytest.mark.parametrize(("base", "cap", "factor"), [(0, 60, 2), (10, 5, 2), (1, 60, 1)])
def test_backoff_rejects_impossible_settings(base, cap, factor):
    with pytest.raises(ValueError):
        Backoff(base=base, cap=cap, factor=factor)


# -- construction and close ----------------------------------------------------------


async def test_api_url_override_points_ccxt_at_the_server(fake, make_source):
    source = make_source()
    binance, okx = source.exchanges["binance"], source.exchanges["okx"]
    assert binance.urls["api"]["public"] == fake.url + "/api/v3"
    assert okx.urls["api"]["rest"] == fake.url
    assert binance.options["fetchMarkets"]["types"] == okx.options["fetchMarkets"]["types"] == ["spot"]
    assert point_api_at({"a": "https://api.x.com/v1", "b": ["no-url"]}, "http://127.0.0.1:1/") == {
        "a": "http://127.0.0.1:1/v1",
        "b": ["no-url"],
    }


async def test_close_closes_every_exchange_session(make_source):
    source = make_source()
    await source.fetch_quotes(["BTC", "OKB"])  # opens a session on both exchanges
    sessions = [ex.session for ex in source.exchanges.values()]
    assert all(s is not None and not s.closed for s in sessions)
    await source.close()
    assert all(s.closed for s in sessions)
    assert all(ex.session is None for ex in source.exchanges.values())


async def test_from_settings_keeps_priority_and_ccxt_rate_limiter():
    settings = load_settings(crypto_exchanges="OKX, binance", crypto_symbols="btc,eth", max_price_jump_pct=15)
    source = CryptoSource.from_settings(settings)
    try:
        assert list(source.exchanges) == ["okx", "binance"]
        assert source.symbols == ("BTC", "ETH")
        okx, binance = source.exchanges["okx"], source.exchanges["binance"]
        assert okx.enableRateLimit and okx.rateLimit == 110 and binance.rateLimit == 50
    finally:
        await source.close()
    unlimited = CryptoSource(("binance",), rate_limit_ms=0, api_urls={"binance": closed_port_url()})
    assert not unlimited.exchanges["binance"].enableRateLimit
    await unlimited.close()


async def test_exchange_options_reach_ccxt_and_a_mirror_serves_the_prices(fake):
    """CRYPTO_EXCHANGE_OPTIONS: a proxy and a hostname go to ccxt as they are (the proxy's password
    never shows in a log line); ``api_url`` sends every request to the mirror."""
    proxy = "http://user:hunter22@proxy.example:3128"
    settings = load_settings(
        crypto_exchanges="binance,okx",
        crypto_exchange_options={
            "binance": {"api_url": fake.url, "options": {"adjustForTimeDifference": False}},
            "okx": {"httpsProxy": proxy, "hostname": "www.okx.cab"},
        },
    )
    source = CryptoSource.from_settings(settings, rate_limit_ms=1, timeout=5.0)
    try:
        binance, okx = source.exchanges["binance"], source.exchanges["okx"]
        assert (okx.httpsProxy, okx.hostname) == (proxy, "www.okx.cab")
        assert binance.options["fetchMarkets"]["types"] == ["spot"]  # ours, kept beside the user's
        assert binance.options["adjustForTimeDifference"] is False
        [quote] = await source.fetch_quotes(["BTC"])
        assert (quote.source, quote.price) == ("binance", float(fake.last_price("binance", "BTC")))
        assert fake.requests[BINANCE_TICKERS] == 1
        assert "hunter22" not in redact(f"connecting through {proxy}")
    finally:
        await source.close()


def test_unknown_exchange_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown ccxt exchange 'binanse'"):
        CryptoSource(("binanse",))
