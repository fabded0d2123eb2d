"""Personal alerts the way traders set them (issue 13): the direction taken from the price now,
levels in % of the price, fire once (then re-arm) or at every crossing, an expiry, the names
people type for a ticker, and an alert message that says it is the reader's own.

Commands go through PTB's real HTTP stack and the fake Bot API; firing goes through the engine.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.engine.engine import Engine
from bot.markettime import MarketHours
from bot.store import market, open_db, own_levels
from bot.telegram import parsers
from bot.values import BadArgument, symbol
from tests.telegram_harness import bot_settings, running_bot
from tests.test_engine import T0, deliveries, engine, feed
from tests.test_engine import db as db
from tests.test_engine import quote as engine_quote
from tests.test_settings_commands import ADA, BOB, LI, ask, quote, snapshot

# -- typing an alert -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["btc", "BTC", "$btc", "bitcoin", "Bitcoin", "xbt", "比特币"])
def test_the_names_people_type_for_bitcoin_are_btc(typed):
    assert symbol(typed) == "BTC"


def test_an_alert_reads_its_options_in_any_order():
    new = parsers.new_level(["btc", "88000", "every", "7d"])
    assert (new.symbol, new.direction, new.price, new.mode, new.expires_in) == (
        "BTC", None, 88_000, "every", timedelta(days=7)
    )  # fmt: skip
    assert parsers.new_level(["btc", "88000", "7d", "every"]) == new
    new = parsers.new_level(["eth", "+5%", "12h"])
    assert (new.direction, new.pct, new.mode, new.expires_in) == ("above", 5.0, "once", timedelta(hours=12))
    assert parsers.new_level(["btc", "below", "3%"]).pct == -3.0
    with pytest.raises(BadArgument, match="pct_sign"):
        parsers.new_level(["btc", "3%"])


@pytest.fixture
async def bot(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake, clock=ManualClock(T0)) as running:
        market.insert_quotes(running.db, [quote("BTC", 90_312.4)])
        yield running


async def test_the_direction_comes_from_the_side_the_price_is_on(fake, bot):
    reply = await ask(fake, "/alert add bitcoin 88000", ADA)
    assert reply.text.splitlines()[0] == "✅ Alert added: #1 BTC below 88,000"
    reply = await ask(fake, "/alert add $btc 95k every", ADA)
    assert reply.text.splitlines()[:2] == [
        "✅ Alert added: #2 BTC above 95,000",
        "It fires at every crossing until you delete it (/alert del 2).",
    ]
    levels = own_levels.levels_of(bot.db, ADA.id)
    assert [(lv.direction, lv.mode) for lv in levels] == [("below", "once"), ("above", "every")]


async def test_a_level_in_percent_is_taken_from_the_price_now(fake, bot):
    reply = await ask(fake, "/alert add btc +5%", ADA)
    assert reply.text.splitlines()[0] == "✅ Alert added: #1 BTC above 94,828"  # 90,312.4 × 1.05, 5 digits
    reply = await ask(fake, "/alert add xbt -3% 2d", ADA)
    assert reply.text.splitlines()[0] == "✅ Alert added: #2 BTC below 87,603"
    assert "It expires Sat 13 Dec 2025, 14:00 UTC if it has not fired by then." in reply.text.splitlines()


async def test_without_a_price_the_bot_asks_for_the_direction_and_stores_nothing(fake, bot):
    before = snapshot(bot.db)
    reply = await ask(fake, "/alert add nvda 200", ADA)
    assert reply.text == (
        "There is no price for NVDA yet, so say which way the alert goes: above or below.\n"
        "Usage: <code>/alert add nvda below 88000</code>"
    )
    reply = await ask(fake, "/alert add nvda +5%", ADA)
    assert reply.text.startswith("There is no price for NVDA yet to take a percentage of")
    reply = await ask(fake, "/alert add btc 90312.4", ADA)
    assert reply.text.startswith("BTC is at 90,312 now: say above or below.")
    assert snapshot(bot.db) == before
    reply = await ask(fake, "/alert add nvda above 200", ADA)  # with the direction said, it needs no price
    assert reply.text.startswith("✅ Alert added: #1 NVDA above 200.00")


async def test_alert_list_shows_how_far_each_level_is_and_how_it_fires(fake, bot):
    await ask(fake, "/alert add btc 88000", ADA)
    await ask(fake, "/alert add btc 95000 every 7d", ADA)
    own_levels.mark_fired(bot.db, [ADA.id], "BTC", 88_000, "below", T0 + timedelta(minutes=5))
    reply = await ask(fake, "/alert list", ADA)
    assert reply.text.splitlines() == [
        "This chat's own levels (2 of 50):",
        "#1 BTC below 88,000 · fires once · fired Thu 11 Dec 2025, 14:05 UTC: /alert rearm 1 arms it again",
        "#2 BTC above 95,000 · every crossing · 5.2 % above the price now · until Thu 18 Dec 2025, 14:00 UTC",
        "Delete one: /alert del 1",
    ]
    reply = await ask(fake, "/alert rearm 1", ADA)
    assert reply.text == "🔔 Alert armed again: #1 BTC below 88,000 · fires once · 2.6 % below the price now"
    assert own_levels.level_of(bot.db, ADA.id, 1).state(T0) == "armed"
    reply = await ask(fake, "/alert rearm 2", BOB)
    assert reply.text == "There is no alert #2 in this chat. /alert list shows this chat's alerts."


async def test_a_chinese_chat_sets_and_lists_in_chinese(fake, bot):
    reply = await ask(fake, "/alert add 比特币 88000 每次", LI)
    assert reply.text.splitlines()[:2] == [
        "✅ 已添加提醒：#1 BTC 低于 88,000",
        "每次穿越都会提醒，直到删除（/alert del 1）。",
    ]
    reply = await ask(fake, "/alert list", LI)
    assert "#1 BTC 低于 88,000 · 每次穿越都提醒 · 低于现价 2.6%" in reply.text.splitlines()


# -- firing --------------------------------------------------------------------------------------


def breaks(decided) -> list[tuple[str, tuple[int, ...]]]:
    return [(d.alert.direction, d.chat_ids) for d in decided if d.alert.kind == "level_break"]


def test_a_once_alert_fires_once_then_waits_for_a_re_arm(db):
    once = own_levels.add_level(db, 2, "BTC", 95_000, "above", T0, mode="once")
    own_levels.add_level(db, 3, "BTC", 95_000, "above", T0, mode="every")
    eng = engine(db, global_levels={})
    assert breaks(feed(eng, db, 94_000, 95_500)) == [("up", (2, 3))]
    assert own_levels.level_of(db, 2, once).state(T0) == "fired"
    # Down through it 5 h later, up again 5 h after that (no chop): only the every-crossing chat.
    # (The first price after a gap in the data only moves the book on: each move starts with one.)
    assert feed(eng, db, 95_400, 94_500, start=5 * 60) == []  # down: nobody asked for that way
    assert breaks(feed(eng, db, 94_400, 95_600, start=10 * 60)) == [("up", (3,))]
    assert own_levels.rearm(db, 2, once, T0 + timedelta(hours=11)) is not None
    eng.levels.add(2, "BTC", 95_000, "above", once=True)  # as /alert rearm does
    feed(eng, db, 95_500, 94_500, start=15 * 60)
    assert breaks(feed(eng, db, 94_400, 95_700, start=20 * 60)) == [("up", (2, 3))]
    told_2 = [key for key, chat in deliveries(db) if chat == 2 and key.startswith("level_break")]
    assert len(told_2) == 2, "chat 2 heard the first crossing and the one after its re-arm"


def test_a_once_alert_is_spent_after_a_restart_too(db):
    own_levels.add_level(db, 2, "BTC", 95_000, "above", T0, mode="once")
    feed(engine(db, global_levels={}), db, 94_000, 95_500)
    restarted = engine(db, global_levels={})  # a new process: its index has only armed levels
    assert 95_000 not in restarted.levels.wanted("BTC")
    assert feed(restarted, db, 94_000, 95_600, start=5 * 60) == []


def test_an_expired_alert_does_not_fire(db):
    own_levels.add_level(db, 2, "BTC", 95_000, "above", T0, mode="every", expires_in=timedelta(hours=2))
    eng = engine(db, global_levels={})
    assert feed(eng, db, 94_000, start=0) == []
    assert feed(eng, db, 94_100, 95_500, start=3 * 60) == [], "its time was up an hour before the crossing"
    [level] = own_levels.levels_of(db, 2)
    assert (level.state(T0 + timedelta(hours=3)), level.ended_at) == ("expired", T0 + timedelta(hours=2))
    own_levels.rearm(db, 2, level.id, T0 + timedelta(hours=8))  # armed again, for two more hours
    eng.levels.add(2, "BTC", 95_000, "above")
    assert breaks(feed(eng, db, 95_400, 94_500, 95_600, start=8 * 60)) == [("up", (2,))]


async def test_the_owner_reads_your_alert_and_others_do_not(fake, tmp_path):
    """A level that is global and one chat's own: every subscriber gets the break, only the owner
    reads that it is their alert."""
    settings = bot_settings(fake, tmp_path, default_levels="BTC:90000")
    store = open_db(settings.database_path)
    eng = Engine(store, settings, MarketHours(T0.date(), T0.date() + timedelta(days=30)))
    async with running_bot(settings, fake, db=store, engine=eng, clock=ManualClock(T0)):
        for user in (ADA, BOB):
            await ask(fake, "/start", user)
        market.insert_quotes(store, [quote("BTC", 90_400)])
        await ask(fake, "/alert add btc 90000 every", ADA)
        for minutes, price in ((1, 90_300), (2, 89_600)):
            q = engine_quote(price, minutes)
            market.insert_quotes(store, [q])
            await eng.decide(q.ts, quotes=[q])
        ada = await fake.wait_for(ADA.id, 3)
        bob = await fake.wait_for(BOB.id, 2)
    assert ada[-1].text.splitlines()[:2] == ["<b>🔻 BTC broke below 90,000</b>", "🔔 Your alert #1 · every crossing"]
    assert bob[-1].text.splitlines()[0] == "<b>🔻 BTC broke below 90,000</b>"
    assert "Your alert" not in bob[-1].text


async def test_a_stale_price_sets_no_side_and_no_percentage(fake, bot):
    bot.health.stale["BTC"] = T0 - timedelta(hours=2)  # the exchanges have not answered for a while
    before = snapshot(bot.db)
    reply = await ask(fake, "/alert add btc 88000", ADA)
    assert reply.text.startswith("The last price of BTC is too old to set an alert from")
    reply = await ask(fake, "/alert add btc +5%", ADA)
    assert reply.text.startswith("The last price of BTC is too old to set an alert from")
    assert snapshot(bot.db) == before
    reply = await ask(fake, "/alert add btc below 88000", ADA)  # said in full, it needs no price
    assert reply.text.startswith("✅ Alert added: #1 BTC below 88,000")
