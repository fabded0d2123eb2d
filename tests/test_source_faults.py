"""Market-data faults, end to end (issue 10, fault suite): the real collector, scheduler jobs,
engine and store, with ccxt's and yfinance's real code against the loopback fakes
(tests/fakes/exchange.py, tests/fakes/yahoo.py), on a simulated clock.

Each scenario asserts what a user would see: nothing crashes (every job keeps running), no
alert comes from bad, missing or stale data (nothing decided, nothing queued for the
subscribed chat), and ``/status`` (``render_status`` over the health registry) tells the
truth while the fault lasts and after it. The source-level behaviour (which exception, which
retry) is covered by tests/test_crypto_source.py and tests/test_equity_source.py.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.clock import ManualClock
from bot.collector import Collector
from bot.config import Settings, load_settings
from bot.domain import Alert
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import default_market_hours
from bot.render import html_to_plain, render
from bot.rules.registry import decode_alert
from bot.scheduler import MarketJobs, market_jobs
from bot.sources.crypto import CryptoSource
from bot.sources.equities import EquitySource
from bot.store import chats, market, open_db
from bot.telegram.status import render_status
from tests.fakes.exchange import BINANCE_TICKERS, NOW, FakeExchange
from tests.fakes.yahoo import FakeYahoo, reset_yfinance_state

CHAT = 4242
POLL = 30.0  # seconds between crypto polls (CRYPTO_POLL_SECONDS)
STEP = 15.0  # the clock moves in steps of the shortest job interval (the staleness job's)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _no_sleep(seconds: float) -> None:
    return None


# -- the pipeline on a simulated clock ------------------------------------------------------


@dataclass
class Bot:
    """The live pipeline (sources → store → engine → outbox) and what its chat and /status show."""

    settings: Settings
    db: Database
    clock: ManualClock
    health: HealthRegistry
    jobs: MarketJobs
    follow: Callable[[datetime], None]  # moves the fake servers' "now" with the bot's clock
    started: datetime
    next_run: dict[str, datetime] = field(default_factory=dict)

    async def tick(self, seconds: float = STEP) -> None:
        """Time passes; each job is ticked once its interval has passed, as the JobQueue ticks them
        (``run_repeating``); the job itself decides whether it is due (backoff, market hours)."""
        now = self.clock.advance(seconds)
        self.follow(now)
        for poller, every in self.jobs.pollers:
            if now >= self.next_run.get(poller.name, self.started):
                self.next_run[poller.name] = now + timedelta(seconds=every)
                await poller.run()

    async def run_until(self, when: datetime, check: Callable[[], object] | None = None) -> None:
        while self.clock.now() < when:
            await self.tick(min(STEP, (when - self.clock.now()).total_seconds()))
            if check is not None:
                check()

    async def until_tried(self, job: str, since: datetime, limit: timedelta = timedelta(minutes=10)) -> None:
        """Tick until ``job`` has run after ``since`` (it may be backing off after failures)."""
        poller = self.jobs.by_name(job)
        deadline = self.clock.now() + limit
        while poller.last_run is None or poller.last_run <= since:
            assert self.clock.now() < deadline, f"{job} did not run within {limit}"
            await self.tick()

    def status(self, lang: str = "en") -> str:
        subscribers = chats.subscriber_count(self.db)
        return render_status(lang, self.clock.now(), self.started, subscribers, True, self.health)

    def decided(self) -> list[tuple[Alert, datetime]]:
        """Every alert decided so far, with when it was decided."""
        rows = self.db.execute("SELECT kind, payload, decided_at FROM alerts ORDER BY id").fetchall()
        return [(decode_alert(kind, payload), datetime.fromisoformat(at)) for kind, payload, at in rows]

    def queued(self) -> int:
        count: int = self.db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        return count

    def assert_silent(self) -> None:
        assert self.decided() == [], [str(alert.key) for alert, _ in self.decided()]
        assert self.queued() == 0


def make_bot(
    path: Path, settings: Settings, clock: ManualClock, health: HealthRegistry, follow: Callable[[datetime], None],
    **sources: Any,
) -> Bot:  # fmt: skip
    """What ``bot.wiring`` builds live: the collector feeding the engine, and its scheduled jobs."""
    db = open_db(path)
    chats.remember_chat(db, CHAT, "private", now=clock.now())
    chats.set_subscribed(db, CHAT, True, now=clock.now())
    hours = default_market_hours()
    engine = Engine(db, settings, hours, fresh=health.is_fresh)
    collector = Collector(db, settings, clock, health, hours, **sources)
    collector.on_stored = engine.process
    jobs = market_jobs(collector)
    health.collecting = True  # what MarketJobs.schedule says when the application starts the jobs
    return Bot(settings, db, clock, health, jobs, follow, clock.now())


@asynccontextmanager
async def crypto_bot(tmp_path: Path, start: datetime, levels: str) -> AsyncIterator[tuple[Bot, FakeExchange]]:
    """BTC from Binance, failing over to OKX, both served by one fake; started (history backfilled,
    first price stored) at ``start``."""
    async with FakeExchange(now=start) as exchange:
        clock, health = ManualClock(start), HealthRegistry()
        settings = load_settings(crypto_exchanges="binance,okx", crypto_symbols="BTC", default_levels=levels)
        crypto = CryptoSource(
            ("binance", "okx"),
            ("BTC",),
            api_urls={"binance": exchange.url, "okx": exchange.url},
            max_jump_pct=settings.max_price_jump_pct,
            clock=clock,
            health=health,
            sleep=_no_sleep,
            rng=random.Random(3),
            timeout=5.0,
            rate_limit_ms=0.1,  # ccxt's limiter still runs, at 0.1 ms per cost unit (Binance's tickers cost 16)
        )

        def follow(now: datetime) -> None:
            exchange.now = now

        bot = make_bot(tmp_path / "bot.db", settings, clock, health, follow, crypto=crypto)
        try:
            await bot.tick(0)
            assert market.latest_quotes(bot.db)["BTC"].source == "binance"
            yield bot, exchange
        finally:
            await bot.jobs.close()
            bot.db.close()


def btc_quotes(bot: Bot) -> list[tuple[datetime, float, str]]:
    rows = bot.db.execute("SELECT fetched_at, price, source FROM quotes WHERE symbol = 'BTC' ORDER BY id")
    return [(datetime.fromisoformat(at), price, source) for at, price, source in rows]


def runs(values: list[str]) -> list[str]:
    """``values`` with repeats collapsed: a, a, b, a → a, b, a."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


# -- 1. the primary exchange fails every way, then recovers ------------------------------------


async def test_primary_exchange_429_418_503_truncated_fails_over_and_back_without_an_alert(tmp_path):
    # BTC trades near 83,900: a bad price read as a price would cross 80,000 or 88,000.
    async with crypto_bot(tmp_path, NOW, "BTC:80000,88000") as (bot, exchange):
        # Its ticker endpoint answers these, one request each; a 503 and a broken body are retried once.
        faults = [("429", 1), ("418", 1), ("503", 2), ("truncated", 2)]
        for fault, times in faults:
            exchange.fail(BINANCE_TICKERS, fault, times)
        seen_errors: list[str] = []

        def check() -> None:
            at, price, _ = btc_quotes(bot)[-1]
            assert bot.clock.now() - at < timedelta(seconds=POLL), "every poll stores a price"
            assert price == float(exchange.last_price("okx", "BTC"))  # the market's price, from either exchange
            assert bot.health.is_fresh("BTC")
            status = bot.status()
            assert "All series are fresh." in status
            assert "✅ okx" in status
            binance = bot.health.source("binance")
            if binance.failing_since is not None:
                assert "❌ binance: failing for" in status and f"({binance.last_error})" in status
                if binance.last_error not in seen_errors:
                    seen_errors.append(binance.last_error or "")

        await bot.until_tried("crypto poll", NOW)
        await bot.run_until(NOW + timedelta(minutes=15), check)

        assert seen_errors == [
            "binance: rate limited (429)",
            "binance: IP banned for rate limits (418)",
            "binance: not available (503)",
            "binance: malformed response",
        ]
        assert runs([source for _, _, source in btc_quotes(bot)]) == ["binance", "okx", "binance"]
        status = bot.status()
        assert "❌" not in status
        assert "✅ binance: last success 0s ago" in status
        assert "last error" in status and "binance: malformed response" in status
        assert bot.jobs.by_name("crypto poll").failures == 0
        bot.assert_silent()


# -- 2. prices that are not prices ------------------------------------------------------------

BAD_PRINTS: dict[str, Callable[[float], Any]] = {  # the last price as the exchange's JSON gives it
    "zero": lambda real: 0,
    "NaN": lambda real: "NaN",
    "null": lambda real: None,
    "10x": lambda real: real * 10,
    "-30%": lambda real: real * 0.7,
}
# What /status says about the exchange: ccxt chokes on "NaN"; the rest parse and are rejected by the bot.
REASON = dict.fromkeys(BAD_PRINTS, "no valid price for BTC") | {"NaN": "malformed response"}


@pytest.mark.parametrize("bad", list(BAD_PRINTS))
async def test_a_bad_print_on_one_exchange_is_not_a_price(tmp_path, bad):
    async with crypto_bot(tmp_path, NOW, "BTC:80000,88000") as (bot, exchange):
        real = float(exchange.last_price("okx", "BTC"))
        exchange.set_price("BTC", BAD_PRINTS[bad](real), exchange="binance")

        def check() -> None:
            at, price, source = btc_quotes(bot)[-1]
            assert bot.clock.now() - at < timedelta(seconds=POLL), "every poll stores a price"
            assert (price, source) == (real, "okx")  # the other exchange's
            status = bot.status()
            assert "❌ binance: failing for" in status and f"(binance: {REASON[bad]})" in status
            assert "All series are fresh." in status

        await bot.until_tried("crypto poll", NOW)
        await bot.run_until(NOW + timedelta(minutes=5), check)
        del exchange.served[("binance", "BTC")]  # the exchange prints sane prices again
        await bot.until_tried("crypto poll", bot.clock.now())

        assert btc_quotes(bot)[-1][1:] == (real, "binance")
        assert "❌" not in bot.status()
        bot.assert_silent()


@pytest.mark.parametrize("bad", ["zero", "NaN", "null"])
async def test_a_bad_print_on_every_exchange_stops_prices_and_the_series_goes_stale(tmp_path, bad):
    async with crypto_bot(tmp_path, NOW, "BTC:80000,88000") as (bot, exchange):
        real = float(exchange.last_price("okx", "BTC"))
        last_good = bot.clock.now()
        exchange.set_price("BTC", BAD_PRINTS[bad](real))

        def check() -> None:  # stale once older than 3 polls (STALE_AFTER_INTERVALS), whenever /status is asked
            stale = bot.clock.now() - last_good > timedelta(seconds=3 * POLL)
            assert bot.health.is_fresh("BTC") is not stale
            assert ("• BTC: last update" in bot.status()) is stale

        await bot.run_until(NOW + timedelta(minutes=10), check)

        assert btc_quotes(bot)[-1][0] == last_good  # nothing stored since
        assert bot.jobs.by_name("crypto poll").failures > 0
        status = bot.status()
        assert f"❌ binance: failing for 9m (binance: {REASON[bad]})" in status  # since the first poll that failed
        assert f"❌ okx: failing for 9m (okx: {REASON[bad]})" in status
        assert "• BTC: last update 10m ago" in status
        assert not bot.health.is_fresh("BTC")

        del exchange.served[("binance", "BTC")], exchange.served[("okx", "BTC")]
        await bot.until_tried("crypto poll", bot.clock.now())
        assert btc_quotes(bot)[-1][1:] == (real, "binance")
        assert bot.health.is_fresh("BTC")
        status = bot.status()
        assert "✅ binance: last success 0s ago" in status and "All series are fresh." in status
        # (OKX's line keeps the last answer it gave: it is not asked while Binance answers.)
        bot.assert_silent()


@pytest.mark.parametrize("outage", [False, True], ids=["polling", "after-an-outage"])
async def test_a_wick_on_one_exchange_is_not_a_crossing(tmp_path, outage):
    """Binance (where the bars come from) prints a -30 % wick in one hourly candle; OKX does not.
    Polling along, the quotes already walked that hour; after an outage the candle itself is walked."""
    start = NOW.replace(hour=13, minute=40) if outage else NOW.replace(hour=14, minute=40)
    wick = NOW.replace(hour=14, minute=0)
    async with crypto_bot(tmp_path, start, "BTC:80000,88000") as (bot, exchange):
        candle = next(c for c in exchange.candles["1h"] if c.ts == int(wick.timestamp() * 1000))
        exchange.wicks[("binance", candle.ts)] = str(round(float(candle.open) * 0.7, 2))
        if outage:
            await bot.run_until(start + timedelta(minutes=10))
            await exchange.go_offline()
            await bot.run_until(wick + timedelta(hours=1))
            await exchange.come_back()
            await bot.until_tried("crypto poll", bot.clock.now())
        await bot.run_until(wick + timedelta(hours=1, minutes=15))  # the candle closed and was synced

        assert market.load_bars(bot.db, "BTC", "1h", wick)[0].ts == wick
        assert "All series are fresh." in bot.status()
        bot.assert_silent()
        [stored] = market.load_bars(bot.db, "BTC", "1h", wick, wick + timedelta(hours=1))
        assert stored.low == min(float(candle.open), float(candle.close))  # the wick was not believed


# -- 3. every exchange down while BTC crosses a level ---------------------------------------

# 21 Oct 2025 (the shipped data): BTC closes 108,480 at 14:00 UTC and 112,243 at 15:00 (that hour
# ran from 108,461 to 112,350), so the fake's price crosses 110,000 at 15:00.
LEVEL = "BTC:110000"
OUTAGES = {
    # Dark 14:50-15:20: the hourly bar synced after it shows the crossing (at its 15:00 close).
    "seen in the bar": (utc(2025, 10, 21, 14, 50), utc(2025, 10, 21, 15, 20), None),
    # Dark 14:20-14:50 while the price goes through 110,000 at 14:35: only the first price after shows it.
    "seen in the next price": (
        utc(2025, 10, 21, 14, 20),
        utc(2025, 10, 21, 14, 50),
        (utc(2025, 10, 21, 14, 35), 111_500),
    ),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_a_level_crossed_while_every_exchange_is_down_is_told_once_and_late(tmp_path, outage):
    down, up, move = OUTAGES[outage]
    async with crypto_bot(tmp_path, down - timedelta(minutes=20), LEVEL) as (bot, exchange):
        await bot.run_until(down)
        last_good = btc_quotes(bot)[-1][0]
        await exchange.go_offline()

        def during() -> None:
            if move is not None and bot.clock.now() >= move[0]:
                exchange.set_price("BTC", move[1])  # the market moves on while the bot cannot see it
            stale = bot.clock.now() - last_good > timedelta(seconds=3 * POLL)
            assert bot.health.is_fresh("BTC") is not stale
            status = bot.status()
            assert ("• BTC: last update" in status) is stale
            if stale:
                assert "❌ binance: failing for" in status and "(binance: unreachable)" in status
                assert "❌ okx: failing for" in status and "(okx: unreachable)" in status
            bot.assert_silent()

        await bot.run_until(up, during)
        assert "• BTC: last update 30m ago" in bot.status()
        await exchange.come_back()
        await bot.until_tried("crypto poll", up)
        first_after = next(at for at, _, _ in btc_quotes(bot) if at > up)
        await bot.run_until(up + timedelta(minutes=15))

        status = bot.status()
        assert "✅ binance: last success 0s ago" in status and "All series are fresh." in status
        # OKX's line keeps the last answer it gave, and says it is not asked while Binance answers.
        assert "❌ okx: failing for" in status and re.search(
            r"\n   not asked for 1\dm: the sources before it answer", status
        )
        [(alert, decided_at)] = bot.decided()  # one alert, told once
        assert alert.kind == "level_break" and decided_at > up
        assert bot.queued() == 1
        # When it happened: from the last price before the outage to the data that showed the crossing.
        crossed = first_after if move is not None else utc(2025, 10, 21, 15, 0)
        en, zh = (html_to_plain(render(alert, lang)).splitlines() for lang in ("en", "zh"))
        price = "111,500 · 1.4 %" if move is not None else "112,243 · 2.0 %"
        span = f"Tue {last_good:%H:%M} and {crossed:%H:%M}"
        assert en[:4] == [
            "🔺 BTC is above 110,000",
            f"Price {price} above the level",
            "Price from Binance · BTC/USDT",  # the venue and its instrument: BTC/USDT is not BTC/USD
            f"Seen late: it crossed between {span}, while price data was unavailable.",
        ]
        span = f"周二 {last_good:%H:%M} 至 {crossed:%H:%M}"
        assert zh[2] == "价格来源：Binance · BTC/USDT"
        assert zh[3] == f"延迟获知：价格在 {span} 之间穿越该价位，当时行情数据无法获取。"


# -- 4. Yahoo answers with nothing, or with errors, during market hours ------------------------

WATCHLIST = "NVDA,AMD,ORCL,QQQ"
OPEN = utc(2025, 12, 11, 14, 30)  # Thu 11 Dec 2025, 09:30 New York: ORCL gaps down 14.5 % after its report


@asynccontextmanager
async def equity_bot(tmp_path: Path, start: datetime) -> AsyncIterator[tuple[Bot, FakeYahoo]]:
    reset_yfinance_state()
    yahoo = FakeYahoo(now=start).start()
    try:
        clock, health = ManualClock(start), HealthRegistry()
        settings = load_settings(equity_watchlist=WATCHLIST)
        equities = EquitySource(
            session=yahoo.session(),
            health=health,
            clock=clock,
            hours=default_market_hours(),
            max_jump_pct=settings.max_price_jump_pct,
            cache_dir=tmp_path / "yfinance-cache",
        )

        def follow(now: datetime) -> None:
            yahoo.now = now

        bot = make_bot(tmp_path / "bot.db", settings, clock, health, follow, equities=equities, earnings=equities)
        try:
            await bot.tick(0)  # before the open: history, earnings dates, the last close
            yield bot, yahoo
        finally:
            await bot.jobs.close()
            bot.db.close()
    finally:
        yahoo.stop()
        assert yahoo.unexpected == []


def equity_quotes(bot: Bot, symbol: str) -> list[tuple[datetime, datetime]]:
    """(fetched at, price time) of each stored quote of ``symbol``."""
    rows = bot.db.execute("SELECT fetched_at, ts FROM quotes WHERE symbol = ? ORDER BY id", [symbol])
    return [(datetime.fromisoformat(at), datetime.fromisoformat(ts)) for at, ts in rows]


YAHOO_FAULTS: list[tuple[str, Callable[[FakeYahoo], None]]] = [
    ("empty frames", lambda yahoo: setattr(yahoo, "empty", set(WATCHLIST.split(",")))),
    ("HTTP 500", lambda yahoo: (yahoo.empty.clear(), setattr(yahoo, "broken", "500"))),
    ("invalid JSON", lambda yahoo: setattr(yahoo, "broken", "invalid-json")),
]


@pytest.mark.slow  # yfinance's real downloads on its worker threads, a poll a minute for 40 minutes: 3 s
async def test_yahoo_failing_during_market_hours_is_stale_silent_and_resumes(tmp_path):
    watchlist = WATCHLIST.split(",")
    async with equity_bot(tmp_path, OPEN - timedelta(minutes=30)) as (bot, yahoo):
        await bot.run_until(OPEN - timedelta(seconds=POLL))
        assert "All series are fresh." in bot.status()  # before the open, Wednesday's closes stand
        poller = bot.jobs.by_name("equity poll")

        # Yahoo answers with nothing, then with HTTP 500s, then with JSON cut in half.
        def silent_and_stale_on_time() -> None:
            stale = bot.clock.now() - OPEN > timedelta(seconds=3 * bot.settings.equity_poll_seconds)
            status = bot.status()
            assert all(bot.health.is_fresh(s) is not stale for s in watchlist)
            assert all((f"• {s}: last update 17h" in status) is stale for s in watchlist)  # Wednesday's close
            bot.assert_silent()

        for fault, apply in YAHOO_FAULTS:
            apply(yahoo)
            began = bot.clock.now()
            await bot.until_tried("equity poll", began, limit=timedelta(minutes=6))
            await bot.run_until(began + timedelta(minutes=6), silent_and_stale_on_time)
            assert poller.last_success is not None and poller.last_success <= OPEN, fault
            status = bot.status()
            assert "❌ yfinance: failing for" in status, fault
            assert "(yfinance: no data for NVDA, AMD, ORCL, QQQ)" in status, fault  # what yfinance makes of it
        assert poller.failures >= 3  # every fault was met, none crashed the job

        # Yahoo is back, except that it answers 404 "symbol may be delisted" for ORCL.
        yahoo.broken, yahoo.not_found = None, {"ORCL"}
        began = bot.clock.now()
        await bot.until_tried("equity poll", began)

        def only_orcl_stale() -> None:
            status = bot.status()
            assert "✅ yfinance: last success" in status
            [stale] = [line for line in status.splitlines() if line.startswith("• ")]
            assert stale.startswith("• ORCL: last update 17h")
            assert not bot.health.is_fresh("ORCL")
            assert all(bot.health.is_fresh(s) for s in watchlist if s != "ORCL")
            bot.assert_silent()  # nothing from ORCL's missing prices; the others moved little

        only_orcl_stale()
        await bot.run_until(began + timedelta(minutes=5), only_orcl_stale)

        # ORCL is back: its prices resume, and the day's real news (its -14.5 % gap after the
        # report) is told once, from fresh prices.
        yahoo.not_found = set()
        back = bot.clock.now()
        await bot.until_tried("equity poll", back)
        await bot.run_until(back + timedelta(minutes=5))
        assert "All series are fresh." in bot.status() and "❌" not in bot.status()
        fetched, priced = equity_quotes(bot, "ORCL")[-1]
        assert bot.clock.now() - fetched <= timedelta(seconds=bot.settings.equity_poll_seconds)
        assert priced > back - timedelta(minutes=2)  # today's minute bars
        decided = bot.decided()
        assert decided, "ORCL's gap after its report is real news"
        assert all(alert.symbol == "ORCL" and at > back for alert, at in decided), decided
        assert "earnings_shock" in {alert.kind for alert, _ in decided}
