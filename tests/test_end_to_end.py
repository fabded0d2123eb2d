"""The whole path, live mode: fake exchange → collector → store → engine → outbox → fake Telegram.

Two users subscribe, set their own level and a correlation threshold by command; the exchange's
BTC price crosses the level; each gets exactly one alert, in their language."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from bot.clock import SystemClock
from bot.collector import Collector
from bot.engine.audience import load_audience
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.markettime import default_market_hours
from bot.sources.crypto import CryptoSource
from bot.store import open_db, outbox, own_levels
from bot.values import Threshold
from tests.fakes.exchange import FakeExchange
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.telegram_harness import bot_settings, running_bot

ADA = FakeUser(111, "Ada", "ada", "en")
LI = FakeUser(222, "Li", "li", "zh-hans")


async def test_a_crossing_reaches_each_owner_once_in_their_language(tmp_path):
    telegram = FakeTelegram()
    await telegram.start()
    async with FakeExchange() as exchange:
        settings = bot_settings(telegram, tmp_path, crypto_exchanges="binance", default_levels="BTC:90000")
        db = open_db(settings.database_path)
        clock, health = SystemClock(), HealthRegistry(collecting=True)
        engine = Engine(db, settings, default_market_hours())
        crypto = CryptoSource(
            ("binance",),
            ("BTC",),
            api_urls={"binance": exchange.url},
            clock=clock,
            health=health,
            rng=random.Random(1),
            timeout=5.0,
            rate_limit_ms=1,
        )
        collector = Collector(db, settings, clock, health, default_market_hours(), crypto=crypto)
        collector.on_stored = lambda now, quotes, bars: engine.process(now, quotes, bars)

        async def tick(price: float) -> None:
            exchange.now += timedelta(seconds=30)  # the ticker's own time moves on
            exchange.set_price("BTC", price)
            await collector.poll_crypto(clock.now())

        async with running_bot(settings, telegram, db=db, clock=clock, health=health, engine=engine):
            for user in (ADA, LI):
                telegram.user_sends("/start", user)
                telegram.user_sends("/alert add btc below 85000", user)
            telegram.user_sends("/set corr 4", ADA)
            await telegram.wait_for(ADA.id, 3, timeout=20)
            await telegram.wait_for(LI.id, 2, timeout=20)
            assert {c.chat_id: c.values["corr"] for c in load_audience(db, settings, clock.now())} == {
                111: Threshold(4.0, "σ"),
                222: Threshold(3.1, "σ"),
            }

            await tick(86_000)  # first price: nothing to cross from
            await tick(85_100)  # inside 85,000's band: not a crossing yet
            await tick(84_700)  # through it
            await telegram.wait_for(ADA.id, 4, timeout=20)
            await telegram.wait_for(LI.id, 3, timeout=20)
            await tick(84_600)  # still below: nothing new
            await tick(84_650)
            # Every tick is decided when it returns: one alert for the level, one delivery per owner...
            decided = db.execute("SELECT id FROM alerts WHERE kind = 'level_break' AND param = '85000'").fetchall()
            assert len(decided) == 1
            # ...and once the outbox is empty nothing more can be sent.
            for _ in range(500):
                if outbox.pending_count(db) == 0:
                    break
                await asyncio.sleep(0.02)
            assert outbox.pending_count(db) == 0
            # Each fired once: stored as fired, out of the engine's index until re-armed.
            states = [lv.state(clock.now()) for user in (ADA, LI) for lv in own_levels.levels_of(db, user.id)]
            assert states == ["fired"] * 2
            assert 85_000.0 not in engine.levels.wanted("BTC")
        await crypto.close()
    await telegram.stop()

    ada_alerts = [m for m in telegram.messages_to(ADA.id) if "85,000" in (m.text or "") and "broke" in m.text]
    li_alerts = [m for m in telegram.messages_to(LI.id) if "85,000" in (m.text or "") and "跌破" in m.text]
    assert len(ada_alerts) == 1 and len(li_alerts) == 1
    assert ada_alerts[0].text.startswith(
        "<b>🔻 BTC broke below 85,000</b>\n🔔 Your alert #1 · it fired once: /alert rearm 1 arms it again\n"
        "Price 84,700 · 0.4 % below the level\n"
    )
    assert li_alerts[0].text.startswith(
        "<b>🔻 BTC 跌破 85,000</b>\n🔔 你的提醒 #2 · 只提醒这一次：发送 /alert rearm 2 重新启用\n"
        "价格 84,700 · 低于该价位 0.4%\n"
    )
