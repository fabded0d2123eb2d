"""The per-chat settings commands through PTB's real HTTP stack and the fake Bot API server:
/levels, /alert, /set, /settings (and its buttons), /mute, /unmute, /tz, /lang."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.domain import Quote
from bot.engine.audience import load_audience
from bot.engine.engine import Engine
from bot.markettime import MarketHours
from bot.rules.registry import SETTINGS
from bot.store import chats, market, open_db, own_levels, prefs, watchlist
from bot.telegram import parsers as settings_args
from bot.values import BadArgument, Threshold
from tests.fakes.telegram import FakeChat, FakeTelegram, FakeUser, Sent
from tests.helpers import chosen
from tests.telegram_harness import bot_settings, running_bot

T0 = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
ADA = FakeUser(111, "Ada", "ada", "en")
LI = FakeUser(222, "Li", "li", "zh-hans")
BOB = FakeUser(333, "Bob", "bob", "en")
GROUP = FakeChat(-100700, "supergroup", title="Desk")
LONG = "x" * 5000
NOT_A_ZONE = " is not a timezone I know: use a name like Europe/Berlin, America/New_York or Asia/Shanghai."
TABLES = ("chats", "chat_values", "chat_levels", "chat_mutes")
SETTING_NAMES = "move, shock, corr, heads-up, charts, quiet, silent, receive"


@pytest.fixture
async def bot(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake, clock=ManualClock(T0)) as running:
        yield running


async def ask(fake: FakeTelegram, text: str, user: FakeUser, chat: FakeChat | None = None) -> Sent:
    """Send ``text`` and return the bot's one reply to it."""
    chat_id = (chat or user.private_chat).id
    before = len(fake.messages_to(chat_id))
    fake.user_sends(text, user, chat)
    replies = await fake.wait_for(chat_id, before + 1)
    return replies[before]


def newcomer(n: int, language_code: str = "en") -> FakeUser:
    """A user with a private chat of their own: the bot answers one chat at most once a second."""
    return FakeUser(5000 + n, f"User{n}", f"user{n}", language_code)


def snapshot(db) -> dict[str, list[tuple]]:
    return {table: [tuple(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")] for table in TABLES}


def quote(symbol: str, price: float) -> Quote:
    return Quote(symbol, price, T0, "binance", T0)


# -- /levels and /alert -------------------------------------------------------------------------


async def test_levels_shows_global_and_own_levels_with_last_price(fake, bot):
    market.insert_quotes(bot.db, [quote("BTC", 92_000)])
    reply = await ask(fake, "/levels", ADA)
    assert reply.text == (
        "<b>Key levels</b>\n"
        "For everyone, both directions: BTC 90,000, 92,000\n\n"
        "This chat has no levels of its own. Add one: /alert add btc 88000\n\n"
        "Last prices: BTC 92,000"
    )
    await ask(fake, "/alert add nvda above 200", ADA)
    reply = await ask(fake, "/levels", ADA)
    assert (
        "This chat's own levels (1 of 50):\n#1 NVDA above 200.00 · fires once\nDelete one: /alert del 1" in reply.text
    )


async def test_alert_add_stores_the_level_and_shows_the_price_now(fake, bot):
    market.insert_quotes(bot.db, [quote("BTC", 92_000)])
    reply = await ask(fake, "/alert add btc below 88,000", ADA)
    assert reply.text.splitlines() == [
        "✅ Alert added: #1 BTC below 88,000",
        "It fires once, at the next crossing; then /alert rearm 1 arms it again."
        " To hear every crossing, add it with “every”.",
        "BTC is at 92,000 now.",
        "This chat is not subscribed, so no alert arrives yet: send /start.",
    ]
    assert own_levels.armed_levels(bot.db) == [(ADA.id, "BTC", 88_000.0, "below", "once")]


@pytest.mark.parametrize(
    ("command", "warning"),
    [
        (
            "/alert add btc above 80000",
            "⚠️ BTC is already above 80,000 (92,000): this fires on the next crossing up, after it falls back below.",
        ),
        (
            "/alert add btc below 95k",
            "⚠️ BTC is already below 95,000 (92,000): this fires on the next crossing down, after it climbs back above.",
        ),
    ],
)
async def test_alert_add_warns_when_the_level_is_already_passed(fake, bot, command, warning):
    market.insert_quotes(bot.db, [quote("BTC", 92_000)])
    await ask(fake, "/start", ADA)
    reply = await ask(fake, command, ADA)
    assert reply.text.splitlines()[2:] == ["BTC is at 92,000 now.", warning]


async def test_alert_duplicate_and_cap_store_nothing(fake, bot):
    await ask(fake, "/alert add btc below 88000", ADA)
    reply = await ask(fake, "/alert add BTC below 88000.0", ADA)
    assert reply.text == "That alert already exists: #1 BTC below 88,000. Nothing added."
    for i in range(1, own_levels.MAX_CHAT_LEVELS):
        own_levels.add_level(bot.db, ADA.id, "BTC", 50_000 + i, "above", T0)
    before = snapshot(bot.db)
    reply = await ask(fake, "/alert add btc above 120000", ADA)
    assert reply.text == "This chat already has 50 levels, the most it can have. Delete one first (/alert list)."
    assert snapshot(bot.db) == before


async def test_alert_list_and_delete_only_touch_the_chats_own(fake, bot):
    await ask(fake, "/alert add btc below 88000", ADA)
    await ask(fake, "/alert add qqq above 650", BOB)
    reply = await ask(fake, "/alert list", ADA)
    assert reply.text == "This chat's own levels (1 of 50):\n#1 BTC below 88,000 · fires once\nDelete one: /alert del 1"
    reply = await ask(fake, "/alert del 2", ADA)  # Bob's
    assert reply.text == "There is no alert #2 in this chat. /alert list shows this chat's alerts."
    assert len(own_levels.levels_of(bot.db, BOB.id)) == 1
    reply = await ask(fake, "/alert del #1", ADA)
    assert reply.text == "🗑 Alert deleted: #1 BTC below 88,000"
    assert own_levels.levels_of(bot.db, ADA.id) == []
    reply = await ask(fake, "/alert", LI)
    assert reply.text == "本聊天没有自定价位。添加：/alert add btc 88000"


async def test_alert_on_a_watched_extra_symbol_is_for_that_chat_only(fake, bot):
    chats.remember_chat(bot.db, ADA.id, "private", now=T0)
    watchlist.add_symbol(bot.db, ADA.id, "PLTR", T0)
    reply = await ask(fake, "/alert add pltr above 200", ADA)
    assert reply.text.startswith("✅ Alert added: #1 PLTR above 200.00")
    reply = await ask(fake, "/alert add pltr above 200", BOB)
    assert reply.text.startswith("PLTR is not tracked. Tracked symbols: BTC, NVDA,")


async def test_new_level_reaches_the_engine_at_once(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    engine = Engine(db, settings, MarketHours(date(2025, 12, 1), date(2025, 12, 31)))
    async with running_bot(settings, fake, db=db, engine=engine, clock=ManualClock(T0)):
        await ask(fake, "/alert add btc below 88000", ADA)
        assert 88_000.0 in engine.levels.wanted("BTC")
        assert engine.levels.owners["BTC"][88_000.0] == {"down": {ADA.id}}
        await ask(fake, "/alert del 1", ADA)
        assert 88_000.0 not in engine.levels.wanted("BTC")


# -- /set and /settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "reply", "column", "stored"),
    [
        ("/set corr 3.5", "✅ Correlation change alert: 3.5σ", "corr", Threshold(3.5, "σ")),
        ("/set corr 4σ", "✅ Correlation change alert: 4σ", "corr", Threshold(4.0, "σ")),
        ("/set shock 5%", "✅ Earnings shock: 5 %", "shock", Threshold(5.0, "%")),
        ("/set move 2.5", "✅ Large move: 2.5 %", "move", Threshold(2.5, "%")),
        ("/set charts off", "✅ Charts: off", "charts", False),
        ("/set heads-up off", "✅ Earnings heads-up: off", "heads-up", False),
    ],
)
async def test_set_confirms_and_stores(fake, bot, command, reply, column, stored):
    sent = await ask(fake, command, ADA)
    assert sent.text == reply
    assert chosen(bot.db, ADA.id)[column] == stored


async def test_set_default_and_usage(fake, bot):
    await ask(fake, "/set corr 4", ADA)
    reply = await ask(fake, "/set corr default", ADA)
    assert reply.text == "✅ Correlation change alert: back to the default, 3.1σ"
    assert "corr" not in chosen(bot.db, ADA.id)
    reply = await ask(fake, "/set", ADA)
    assert reply.text.startswith("<b>/set</b> changes one setting of this chat:\n/set move 3σ")


async def test_settings_shows_everything_and_marks_defaults(fake, bot):
    await ask(fake, "/set move 3", ADA)
    await ask(fake, "/mute earnings 2h", ADA)
    reply = await ask(fake, "/settings", ADA)
    assert reply.text.splitlines() == [
        "<b>Settings of this chat</b>",
        "Large move: 3 %",
        "Earnings shock: 7 % (default)",
        "Correlation change alert: 3.1σ (default)",
        "Earnings heads-up: on (default)",
        "Charts: on (default)",
        "Quiet hours: off (default)",
        "Silent kinds: earnings heads-ups (default)",
        "Alerts received: all kinds (default)",
        "Own levels: 0 of 50 (/alert list)",
        "Language: English (/lang)",
        "Timezone: UTC (/tz)",
        "Muted: Earnings alerts (shocks, reversals and heads-ups) until Thu 11 Dec 2025, 16:00 UTC",
        "Alerts: this chat is not subscribed (/start)",
        "",
        "Change one: /set corr 3.5 · /set move 3σ · /mute move 2h · /quiet 23:00-07:00. The buttons switch charts,"
        " heads-ups, quiet hours and which kinds arrive silently (🔕).",
    ]
    buttons = json.loads(reply.params["reply_markup"])["inline_keyboard"]
    assert buttons[0] == [
        {"text": "🗓 Heads-up: on", "callback_data": "settings:heads-up"},
        {"text": "📊 Charts: on", "callback_data": "settings:charts"},
        {"text": "🌙 Quiet hours: off", "callback_data": "settings:quiet"},
    ]


async def test_settings_button_toggles_and_redraws(fake, bot):
    message = await ask(fake, "/settings", ADA)
    fake.press_button("settings:charts", ADA, message)
    [edit] = await wait_for_edits(fake, ADA.id, 1)
    assert "Charts: off\n" in edit.text
    assert json.loads(edit.params["reply_markup"])["inline_keyboard"][0][1]["text"] == "📊 Charts: off"
    assert edit.params["message_id"] == str(message.message_id)
    assert chosen(bot.db, ADA.id)["charts"] is False
    assert fake.callback_answers[-1]["text"] == "✅ Charts: off"
    fake.press_button("settings:charts", ADA, message)
    edits = await wait_for_edits(fake, ADA.id, 2)
    assert "Charts: on (default)" in edits[1].text
    assert chosen(bot.db, ADA.id)["charts"] is True


async def wait_for_edits(fake: FakeTelegram, chat_id: int, count: int) -> list[Sent]:
    for _ in range(500):
        edits = [s for s in fake.messages_to(chat_id) if s.method == "editMessageText"]
        if len(edits) >= count:
            return edits
        await asyncio.sleep(0.01)
    raise AssertionError(f"chat {chat_id} got no edit")


# -- groups: everyone reads, admins change -----------------------------------------------------


REFUSED = (
    "/alert add btc below 87000",
    "/alert del 1",
    "/set corr 3.5",
    "/mute all 1h",
    "/unmute",
    "/tz Europe/Berlin",
    "/lang zh",
)


async def test_group_non_admin_changes_nothing(fake, bot):
    fake.set_member(GROUP, ADA, "administrator")
    await ask(fake, "/alert add btc below 88000", ADA, GROUP)
    before = snapshot(bot.db)
    for i, command in enumerate(REFUSED):  # a group each: the bot answers a chat once a second
        group = FakeChat(GROUP.id - 1 - i, "supergroup", title=f"Desk {i}")
        reply = await ask(fake, command, BOB, group)
        assert reply.text == "In groups only chat admins can do that.", command
    reply = await ask(fake, "/alert del 1", BOB, GROUP)
    assert reply.text == "In groups only chat admins can do that."
    assert snapshot(bot.db) == before


async def test_group_non_admin_reads_but_cannot_press(fake, bot):
    fake.set_member(GROUP, ADA, "administrator")
    await ask(fake, "/alert add btc below 88000", ADA, GROUP)
    before = snapshot(bot.db)
    message = await ask(fake, "/settings", BOB, GROUP)
    assert "Charts: on (default)" in message.text
    fake.press_button("settings:charts", BOB, message)
    reply = await ask(fake, "/levels", BOB, GROUP)  # updates are handled in order: the press is done
    assert "#1 BTC below 88,000" in reply.text
    answer = fake.callback_answers[-1]
    assert (answer["text"], answer["show_alert"]) == ("In groups only chat admins can do that.", "true")
    assert not [s for s in fake.messages_to(GROUP.id) if s.method == "editMessageText"]
    assert snapshot(bot.db) == before


async def test_group_admin_changes_settings(fake, bot):
    fake.set_member(GROUP, ADA, "creator")
    assert (await ask(fake, "/set corr 4.5", ADA, GROUP)).text == "✅ Correlation change alert: 4.5σ"
    assert chosen(bot.db, GROUP.id)["corr"] == Threshold(4.5, "σ")
    message = await ask(fake, "/settings", ADA, GROUP)
    fake.press_button("settings:heads-up", ADA, message)
    [edit] = await wait_for_edits(fake, GROUP.id, 1)
    assert "Earnings heads-up: off" in edit.text
    assert chosen(bot.db, GROUP.id)["heads-up"] is False


# -- /mute, /unmute -----------------------------------------------------------------------------


async def test_mute_in_the_chats_timezone_and_the_engine_skips_it(fake, bot):
    chats.remember_chat(bot.db, ADA.id, "private", now=T0)
    chats.set_subscribed(bot.db, ADA.id, True, now=T0)
    chats.set_timezone(bot.db, ADA.id, "Europe/Berlin", now=T0)
    reply = await ask(fake, "/mute moves 2h", ADA)
    assert (
        reply.text
        == "🔕 Large moves muted until Thu 11 Dec 2025, 17:00 CET. Alerts muted meanwhile are not sent later."
    )
    reply = await ask(fake, "/mute correlation 1d", ADA)
    assert "Correlation alerts muted until Fri 12 Dec 2025, 15:00 CET" in reply.text
    assert prefs.active_mutes(bot.db, ADA.id, T0) == {
        "correlation_resolved": T0 + timedelta(days=1),
        "correlation_spike": T0 + timedelta(days=1),
        "large_move": T0 + timedelta(hours=2),
        "market_move": T0 + timedelta(hours=2),  # moves of one name or of the market
        "gap": T0 + timedelta(hours=2),
    }
    [audience] = load_audience(bot.db, bot.settings, T0)
    assert not audience.wants("large_move") and not audience.wants("correlation_spike")
    assert audience.wants("level_break")
    reply = await ask(fake, "/unmute move", ADA)
    assert reply.text == "🔔 Large moves: unmuted.\nStill muted: Correlation alerts until Fri 12 Dec 2025, 15:00 CET"
    reply = await ask(fake, "/unmute", ADA)
    assert reply.text == "🔔 All alerts: unmuted."
    assert prefs.active_mutes(bot.db, ADA.id, T0) == {}


async def test_unmute_what_is_not_muted_says_so(fake, bot):
    assert (
        await ask(fake, "/unmute earnings", ADA)
    ).text == "Earnings alerts (shocks, reversals and heads-ups): not muted."


async def test_mute_all_stops_every_kind(fake, bot):
    await ask(fake, "/start", ADA)
    await ask(fake, "/mute all 30m", ADA)
    [audience] = load_audience(bot.db, bot.settings, T0)
    assert not any(audience.wants(k) for k in ("level_break", "large_move", "earnings_upcoming"))
    assert load_audience(bot.db, bot.settings, T0 + timedelta(minutes=31))[0].muted == frozenset()


# -- /tz, /lang ------------------------------------------------------------------------------


async def test_tz_sets_and_shows_the_timezone(fake, bot):
    reply = await ask(fake, "/tz", ADA)
    assert reply.text == "🕒 This chat's timezone: UTC (now Thu 11 Dec 2025, 14:00 UTC). Change it: /tz Europe/Berlin"
    reply = await ask(fake, "/tz europe/berlin", BOB)
    assert reply.text == "🕒 Timezone set to Europe/Berlin. Times now read like this: Thu 11 Dec 2025, 15:00 CET"
    assert chats.get_chat(bot.db, BOB.id).timezone == "Europe/Berlin"
    await ask(fake, "/tz new york", ADA)
    assert chats.get_chat(bot.db, ADA.id).timezone == "America/New_York"
    assert "America/New_York (now Thu 11 Dec 2025, 09:00 EST)" in (await ask(fake, "/tz", ADA)).text


async def test_lang_switches_every_later_reply(fake, bot):
    assert (await ask(fake, "/lang", ADA)).text == "Language: English. Change it: /lang en or /lang zh"
    reply = await ask(fake, "/lang zh", ADA)
    assert reply.text == "✅ 语言：中文。本聊天的回复和提醒将使用该语言。"
    assert chats.get_chat(bot.db, ADA.id).language == "zh"
    assert (await ask(fake, "/set corr 3.5", ADA)).text == "✅ 相关性变化提醒：3.5σ"
    assert (await ask(fake, "/lang english", ADA)).text.startswith("✅ Language: English.")


# -- in Chinese --------------------------------------------------------------------------------


async def test_chinese_user_gets_chinese_settings_replies(fake, bot):
    market.insert_quotes(bot.db, [quote("BTC", 92_000)])
    reply = await ask(fake, "/alert add btc above 80000", LI)
    assert reply.text.splitlines()[:4] == [
        "✅ 已添加提醒：#1 BTC 高于 80,000",
        "下一次穿越时提醒一次，之后发送 /alert rearm 1 重新启用。若要每次穿越都提醒，添加时加上 “every”。",
        "BTC 现价 92,000。",
        "⚠️ BTC 已高于 80,000（92,000）：需先回落到下方，下一次向上突破时才会提醒。",
    ]
    chats.set_timezone(bot.db, LI.id, "Asia/Shanghai", now=T0)
    reply = await ask(fake, "/mute 价位 2h", LI)
    assert reply.text == "🔕 价位突破已静音至 2025年12月12日 周五 00:00 北京时间。静音期间的提醒之后不会补发。"
    reply = await ask(fake, "/settings", LI)
    assert "相关性变化提醒：3.1σ（默认）" in reply.text and "时区：Asia/Shanghai（/tz）" in reply.text
    assert "已静音：价位突破 至 2025年12月12日 周五 00:00 北京时间" in reply.text
    assert json.loads(reply.params["reply_markup"])["inline_keyboard"][0][1]["text"] == "📊 图表：开"
    reply = await ask(fake, "/set corr 0.8", newcomer(1, "zh-hans"))
    assert reply.text == "0.8 超出范围：应在 2 到 6 之间。\n用法：<code>/set corr 3.5</code>"
    reply = await ask(fake, "/tz 火星", newcomer(2, "zh-hans"))
    assert reply.text.startswith("“火星”不是已知的时区")


# -- bad input: one line saying what is wrong, a usage example, nothing stored -------------------

USAGE = {
    "alert": "Usage: <code>/alert add btc 88000 · /alert list · /alert del 3</code>",
    "add": "Usage: <code>/alert add btc 88000</code>",
    "del": "Usage: <code>/alert del 3</code>",
    "set": "Usage: <code>/set corr 3.5</code>",
    "mute": "Usage: <code>/mute level_break|correlation|earnings|move|all 2h</code>",
    "unmute": "Usage: <code>/unmute move</code>",
    "tz": "Usage: <code>/tz Europe/Berlin</code>",
    "lang": "Usage: <code>/lang zh</code>",
}
TOO_LONG = "That is too long: at most 200 characters after the command."
BAD_INPUT: dict[str, list[tuple[str, str, str]]] = {
    "alert": [
        ("/alert frob", "“frob”: expected one of add, list, del, rearm.", "alert"),
        (
            "/alert add doge below 1",
            "DOGE is not tracked. Tracked symbols: BTC, NVDA, AMD, ORCL, MSFT, AVGO, META, TSM, QQQ.",
            "add",
        ),
        ("/alert add btc below abc", "“abc” is not a number.", "add"),
        ("/alert add btc below 0", "0 is not a price: expected more than 0 and at most 1,000,000,000.", "add"),
        ("/alert add btc below -5", "-5 is not a price: expected more than 0 and at most 1,000,000,000.", "add"),
        (
            "/alert add btc below 1000000000000",
            "1000000000000 is not a price: expected more than 0 and at most 1,000,000,000.",
            "add",
        ),
        ("/alert add btc below nan", "nan is not a price: expected more than 0 and at most 1,000,000,000.", "add"),
        ("/alert add btc below 10^12", "“10^12” is not a number.", "add"),
        ("/alert add btc sideways 88000", "“sideways”: expected one of above, below.", "add"),
        ("/alert add btc below", "Something is missing.", "add"),
        ("/alert add", "Something is missing.", "add"),
        (
            "/alert add btc below 88000 now",
            "“now” is not understood here: after the price, say once, every, or an expiry such as 7d or 12h.",
            "add",
        ),
        ("/alert add btc below 88000 once 7d now", "Too many words: “now” is not needed.", "add"),
        ("/alert add btc 5%", "“5%” needs a sign: +5% for a level above the price now, -5% for one below it.", "add"),
        (
            "/alert add btc below +5%",
            "“+5%” goes the other way from the direction given: +N% is above the price now, -N% below it.",
            "add",
        ),
        (
            "/alert add btc 88000 every 400d",
            "“400d” is not a duration: use minutes, hours, days or weeks like 30m, 2h, 1d (up to a year).",
            "add",
        ),
        ("/alert add <b>btc</b> below 1", "“&lt;b&gt;btc&lt;/b&gt;” is not a symbol.", "add"),
        ("/alert add " + LONG, TOO_LONG, "alert"),
        ("/alert del", "Something is missing.", "del"),
        ("/alert del abc", "“abc” is not an alert number: use the # number that /alert list shows.", "del"),
        ("/alert del 0", "“0” is not an alert number: use the # number that /alert list shows.", "del"),
        (
            "/alert del <i>1</i>",
            "“&lt;i&gt;1&lt;/i&gt;” is not an alert number: use the # number that /alert list shows.",
            "del",
        ),
    ],
    "set": [
        ("/set corr 0.8", "0.8 is out of range: expected 2 to 6.", "set"),
        ("/set corr 7σ", "7σ is out of range: expected 2 to 6.", "set"),
        ("/set corr -0.5", "-0.5 is out of range: expected 2 to 6.", "set"),
        ("/set corr abc", "“abc” is not a number.", "set"),
        (
            "/set jump 0.4",
            "“jump”: expected one of move, shock, corr, heads-up, charts, quiet, silent, receive.",
            "set",
        ),
        ("/set shock 0", "0 is out of range: expected 0.5 to 50.", "set"),
        ("/set move 1000", "1000 is out of range: expected 0.5% to 50%.", "set"),
        ("/set charts maybe", "“maybe”: expected on or off.", "set"),
        (
            "/set colour red",
            "“colour”: expected one of move, shock, corr, heads-up, charts, quiet, silent, receive.",
            "set",
        ),
        ("/set corr", "Something is missing.", "set"),
        ("/set corr 0.8 0.9", "Too many words: “0.9” is not needed.", "set"),
        ("/set corr <b>1</b>", "“&lt;b&gt;1&lt;/b&gt;” is not a number.", "set"),
        ("/set corr " + LONG, TOO_LONG, "set"),
    ],
    "mute": [
        ("/mute", "Something is missing.", "mute"),
        ("/mute move", "Something is missing.", "mute"),
        (
            "/mute move 2x",
            "“2x” is not a duration: use minutes, hours, days or weeks like 30m, 2h, 1d (up to a year).",
            "mute",
        ),
        (
            "/mute move 0m",
            "“0m” is not a duration: use minutes, hours, days or weeks like 30m, 2h, 1d (up to a year).",
            "mute",
        ),
        (
            "/mute move -2h",
            "“-2h” is not a duration: use minutes, hours, days or weeks like 30m, 2h, 1d (up to a year).",
            "mute",
        ),
        (
            "/mute move 400d",
            "“400d” is not a duration: use minutes, hours, days or weeks like 30m, 2h, 1d (up to a year).",
            "mute",
        ),
        ("/mute news 2h", "“news”: expected one of level_break, move, earnings, correlation, all.", "mute"),
        (
            "/mute <b>x</b> 2h",
            "“&lt;b&gt;x&lt;/b&gt;”: expected one of level_break, move, earnings, correlation, all.",
            "mute",
        ),
        ("/mute all " + LONG, TOO_LONG, "mute"),
    ],
    "unmute": [
        ("/unmute news", "“news”: expected one of level_break, move, earnings, correlation, all.", "unmute"),
        ("/unmute move now", "Too many words: “now” is not needed.", "unmute"),
        ("/unmute " + LONG, TOO_LONG, "unmute"),
    ],
    "tz": [
        (
            "/tz Mars/Olympus",
            "“Mars/Olympus”" + NOT_A_ZONE,
            "tz",
        ),
        (
            "/tz ../../etc/passwd",
            "“../../etc/passwd”" + NOT_A_ZONE,
            "tz",
        ),
        (
            "/tz <b>x</b>",
            "“&lt;b&gt;x&lt;/b&gt;”" + NOT_A_ZONE,
            "tz",
        ),
        ("/tz " + LONG, TOO_LONG, "tz"),
    ],
    "lang": [
        ("/lang fr", "“fr”: expected one of en, zh.", "lang"),
        ("/lang en zh", "Too many words: “zh” is not needed.", "lang"),
        ("/lang <b>", "“&lt;b&gt;”: expected one of en, zh.", "lang"),
        ("/lang " + LONG, TOO_LONG, "lang"),
    ],
}


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
async def test_bad_input_gets_one_line_and_usage_and_stores_nothing(fake, bot, command):
    await ask(fake, "/alert add btc below 88000", ADA)
    await ask(fake, "/set move 3", BOB)
    before = snapshot(bot.db)
    for n, (text, problem, usage) in enumerate(BAD_INPUT[command]):
        reply = await ask(fake, text, newcomer(n))
        assert reply.text.split("\n") == [problem, USAGE[usage]], text[:60]
    assert snapshot(bot.db) == before


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_menu_entries_fit_telegrams_rules(lang):
    from bot.telegram.registry import menu

    for command in menu(lang):
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.command)
        assert 3 <= len(command.description) <= 256


# -- the parsers alone (no I/O) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "zone"),
    [
        (["Europe/Berlin"], "Europe/Berlin"),
        (["asia/shanghai"], "Asia/Shanghai"),
        (["berlin"], "Europe/Berlin"),
        (["New", "York"], "America/New_York"),
        (["utc"], "UTC"),
    ],
)
def test_timezone_names_and_cities(words, zone):
    assert settings_args.timezone(words) == zone


@pytest.mark.parametrize(
    ("word", "group"),
    [
        ("levels", "level_break"),
        ("corr", "correlation"),
        ("shock", "earnings"),
        ("heads-up", "earnings"),
        ("moves", "move"),
        ("ALL", "all"),
        ("财报", "earnings"),
    ],
)
def test_mute_aliases(word, group):
    assert settings_args.mute_group(word) == group


def test_setting_change_parses_values_and_default():
    named = {s.name: s for s in SETTINGS}
    assert settings_args.setting_change(["corr", "3.5"]) == (named["corr"], Threshold(3.5, "σ"))
    assert settings_args.setting_change(["headsup", "off"]) == (named["heads-up"], False)
    assert settings_args.setting_change(["move", "default"]) == (named["move"], None)
    assert settings_args.setting_change(["move", "3σ"]) == (named["move"], Threshold(3.0, "σ"))
    with pytest.raises(BadArgument) as error:
        settings_args.setting_change(["charts", "default"])
    assert error.value.key == "args.on_off"


@pytest.mark.parametrize("data", ["settings:colour", "old-keyboard:42", "<b>x</b>" * 8])
async def test_a_button_nothing_knows_is_answered_and_changes_nothing(fake, bot, data):
    message = await ask(fake, "/settings", ADA)
    before = chosen(bot.db, ADA.id)
    answered = len(fake.callback_answers)
    fake.press_button(data, ADA, message)
    await ask(fake, "/levels", ADA)  # updates are handled in order: the press is done
    assert len(fake.callback_answers) == answered + 1  # no spinner left turning
    assert fake.callback_answers[-1]["text"] == "This button no longer works: send /settings for a fresh one."
    assert chosen(bot.db, ADA.id) == before
