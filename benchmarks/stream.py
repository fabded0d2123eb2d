"""From a price crossing a level to the alert reaching Telegram, streamed and polled, side by side:

* ``stream_to_send_p50_ms`` / ``stream_to_send_p99_ms``: the bot running live (its JobQueue,
  engine, fan-out and sender) with 1,000 subscribed chats, its BTC prices streamed by ccxt.pro
  from a fake Binance stream on 127.0.0.1; a ticker event crosses the next of a ladder of
  levels (90,000, 91,000, ...): the time from the event leaving the fake exchange to the first
  ``sendMessage`` of that level's alert reaching the fake Bot API. The outbox is drained before
  each crossing, so each one measures deciding, queueing and the first send, not a backlog.
* ``afterhours_to_send_ms``: the same bot on a clock running from Wednesday 10 Dec 2025, 16:05
  New York, five watched names having reported after the close: a fake Yahoo streamer sends an
  after-hours print 10 % below each one's regular close, one at a time: the median time from
  the print to the first ``sendMessage`` of its earnings alert.
* ``poll_to_send_p50_ms``: the same bot with streaming off, its prices polled from the fake
  REST API every ``CRYPTO_POLL_SECONDS`` (30): the price changes at a random moment between
  polls; the same time to the first ``sendMessage``.

Nothing here is asserted: ``python -m benchmarks stream`` prints the table and the numbers go to
``benchmarks/results.json``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import quiet
from benchmarks.bot import p99_ms, subscribe
from bot.clock import SystemClock
from bot.collector import Collector
from bot.config import load_settings
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import default_market_hours
from bot.scheduler import market_jobs
from bot.sources.crypto import CryptoSource
from bot.sources.validate import JumpGuard
from bot.store import open_db, outbox
from bot.wiring import crypto_streams
from tests.fakes.exchange import FakeExchange
from tests.fakes.exchange_ws import FakeExchangeStream
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.telegram_harness import RELAXED, bot_parts, running_bot

T = TypeVar("T")
GOALS = {"stream_to_send_p50_ms": 300, "stream_to_send_p99_ms": 1_000}
LEVELS = tuple(90_000 + 1_000 * i for i in range(60))


@asynccontextmanager
async def _live_bot(
    chats: int, *, streaming: bool, poll_seconds: float = 30.0
) -> AsyncIterator[tuple[FakeTelegram, FakeExchange, FakeExchangeStream, Any]]:
    async with FakeExchange() as rest, FakeExchangeStream() as ws:
        fake = FakeTelegram()
        await fake.start()
        rest.now = datetime.now(UTC)
        rest.set_price("BTC", 89_500.0)
        try:
            with tempfile.TemporaryDirectory() as folder:
                settings = load_settings(
                    _env_file=None, telegram_bot_token=TOKEN, telegram_api_base_url=fake.url,
                    database_path=Path(folder) / "b.db", crypto_exchanges="binance", crypto_symbols="BTC",
                    default_levels="BTC:" + ",".join(map(str, LEVELS)),
                    crypto_stream=streaming, crypto_poll_seconds=poll_seconds,
                    crypto_exchange_options={"binance": {"api_url": rest.url, "ws_url": ws.url}},
                )  # fmt: skip
                db = open_db(settings.database_path)
                subscribe(db, range(1, chats + 1))
                clock, health, hours = SystemClock(), HealthRegistry(), default_market_hours()
                crypto = CryptoSource.from_settings(settings, health=health, clock=clock)
                engine = Engine(db, settings, hours, fresh=health.is_fresh)
                collector = Collector(db, settings, clock, health, hours, crypto=crypto)
                collector.on_stored = engine.decide
                jobs = market_jobs(collector)
                if streaming:
                    jobs.streams += crypto_streams(settings, collector, crypto.guard)
                parts = bot_parts(settings, db, clock=clock, health=health, engine=engine, runner=jobs)
                async with running_bot(settings, fake, db, parts=parts, limits=RELAXED) as bot:
                    yield fake, rest, ws, bot
        finally:
            await fake.stop()


def _label(level: int) -> str:
    return f"{level:,}"


async def _until(predicate: Callable[[], T | None], seconds: float, what: str) -> T:
    """``predicate()``'s first result that is not None, looked at every 2 ms."""
    deadline = time.monotonic() + seconds
    for _ in itertools.count():
        if (found := predicate()) is not None:
            return found
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.002)
    raise TimeoutError(f"no {what} within {seconds} s")


async def _first_send(fake: FakeTelegram, before: int, level: int, seconds: float) -> float:
    def sent() -> float | None:
        return next((m.at for m in fake.sent[before:] if _label(level) in (m.text or "")), None)

    return await _until(sent, seconds, f"alert for {level}")


async def _drained(db: Any) -> None:
    await _until(lambda: True if outbox.pending_count(db) == 0 else None, 120, "empty outbox")


async def _first_quote(db: Any) -> None:
    await _until(lambda: True if db.execute("SELECT count(*) FROM quotes").fetchone()[0] else None, 60, "price")


async def _streamed(chats: int, crossings: int) -> list[float]:
    latencies: list[float] = []
    async with _live_bot(chats, streaming=True) as (fake, _, ws, bot):
        await ws.subscribed("btcusdt@ticker")
        await ws.ticker("BTCUSDT", 89_500.0)
        await _first_quote(bot.db)
        for level in LEVELS[:crossings]:
            await _drained(bot.db)
            await asyncio.sleep(0.3)
            before = len(fake.sent)
            start = time.monotonic()
            await ws.ticker("BTCUSDT", level + 400.0)
            latencies.append(await _first_send(fake, before, level, 30) - start)
    return latencies


async def _polled(chats: int, crossings: int, rng: random.Random, poll_seconds: float) -> list[float]:
    latencies: list[float] = []
    async with _live_bot(chats, streaming=False, poll_seconds=poll_seconds) as (fake, rest, _, bot):
        await _first_quote(bot.db)
        for level in LEVELS[:crossings]:
            await _drained(bot.db)
            await asyncio.sleep(rng.uniform(0, poll_seconds))  # the move lands anywhere between two polls
            before = len(fake.sent)
            rest.now = datetime.now(UTC)
            start = time.monotonic()
            rest.set_price("BTC", level + 400.0)
            latencies.append(await _first_send(fake, before, level, 90) - start)
            rest.now = datetime.now(UTC)
    return latencies


REPORTED = ("ORCL", "AVGO", "ADBE", "MU", "LULU")


async def _after_hours(chats: int) -> list[float]:
    from bot.clock import SimulatedClock
    from bot.domain import EarningsDate
    from bot.store import market
    from bot.wiring import equity_stream
    from tests.fakes.yahoo_ws import POST_MARKET, FakeYahooStream
    from tests.test_earnings_extended import CLOSE_WED, WED, at, history

    latencies: list[float] = []
    fake = FakeTelegram()
    await fake.start()
    try:
        async with FakeYahooStream() as yahoo:
            with tempfile.TemporaryDirectory() as folder:
                settings = load_settings(
                    _env_file=None, telegram_bot_token=TOKEN, telegram_api_base_url=fake.url,
                    database_path=Path(folder) / "b.db", equity_watchlist=",".join(REPORTED),
                    yahoo_stream_url=yahoo.url, crypto_stream=False,
                )  # fmt: skip
                db = open_db(settings.database_path)
                subscribe(db, range(1, chats + 1))
                for symbol in REPORTED:
                    history(db, symbol, 100.0)
                    market.insert_quotes(db, [at(CLOSE_WED - timedelta(minutes=1), symbol, 100.0)])
                reports = [EarningsDate(s, WED, "after_close", "yfinance") for s in REPORTED]
                market.upsert_earnings(db, reports, CLOSE_WED)
                clock, health = SimulatedClock(CLOSE_WED + timedelta(minutes=5)), HealthRegistry()
                hours = default_market_hours()
                engine = Engine(db, settings, hours, fresh=health.is_fresh)
                collector = Collector(db, settings, clock, health, hours)
                collector.on_stored = engine.decide
                jobs = market_jobs(collector)
                jobs.streams.append(equity_stream(settings, collector, JumpGuard(settings.max_price_jump_pct)))
                parts = bot_parts(settings, db, clock=clock, health=health, engine=engine, runner=jobs)
                async with running_bot(settings, fake, db, parts=parts, limits=RELAXED) as bot:
                    await yahoo.subscribed(REPORTED[-1])
                    for symbol in REPORTED:
                        await _drained(bot.db)
                        before = len(fake.sent)
                        start = time.monotonic()
                        await yahoo.price(symbol, 90.0, int(clock.now().timestamp() * 1000), hours=POST_MARKET)
                        latencies.append(await _first_send_of(fake, before, symbol, 30) - start)
    finally:
        await fake.stop()
    return latencies


async def _first_send_of(fake: FakeTelegram, before: int, symbol: str, seconds: float) -> float:
    def sent() -> float | None:
        return next((m.at for m in fake.sent[before:] if f"{symbol} " in (m.text or "")), None)

    return await _until(sent, seconds, f"alert for {symbol}")


def run(
    chats: int = 1_000, crossings: int = 40, polled: int = 6, seed: int = 12, poll_seconds: float = 30.0
) -> dict[str, Any]:
    """``poll_seconds``: ``CRYPTO_POLL_SECONDS`` of the polled bot (30, the default; a quick run: 5)."""
    with quiet(bot=logging.WARNING, httpx=logging.WARNING, aiohttp=logging.CRITICAL, ccxt=logging.WARNING):
        streamed = asyncio.run(_streamed(chats, crossings))
        after_hours = asyncio.run(_after_hours(chats))
        polls = asyncio.run(_polled(chats, polled, random.Random(seed), poll_seconds))
    return {
        "stream_to_send_p50_ms": round(1000 * statistics.median(streamed)),
        "stream_to_send_p99_ms": round(p99_ms(streamed)),
        "poll_to_send_p50_ms": round(1000 * statistics.median(polls)),
        "afterhours_to_send_ms": round(1000 * statistics.median(after_hours)),
        "_detail": {
            "after_hours": after_hours,
            "chats": chats,
            "streamed": streamed,
            "polled": polls,
            "poll_seconds": poll_seconds,
        },
    }


def report(result: dict[str, Any]) -> str:
    detail = result["_detail"]
    p50, p99, poll = result["stream_to_send_p50_ms"], result["stream_to_send_p99_ms"], result["poll_to_send_p50_ms"]

    def verdict(value: float, goal: float) -> str:
        return f"[{'ok' if value <= goal else 'MISSED'}: <= {goal:,}]"

    return "\n".join(
        [
            f"a level crossing to its first sendMessage, {detail['chats']:,} subscribed chats",
            f"  streamed (ccxt.pro, fake Binance stream): p50 {p50} ms {verdict(p50, GOALS['stream_to_send_p50_ms'])},"
            f" p99 {p99} ms {verdict(p99, GOALS['stream_to_send_p99_ms'])} over {len(detail['streamed'])} crossings",
            f"  polled every {detail['poll_seconds']:.0f} s (fake REST API): p50 {poll:,} ms"
            f" over {len(detail['polled'])} crossings"
            f" ({poll / max(p50, 1):.0f}x the streamed p50)",
            f"  an after-hours earnings print (fake Yahoo stream) to its alert: median"
            f" {result['afterhours_to_send_ms']} ms over {len(detail['after_hours'])} reports",
        ]
    )
