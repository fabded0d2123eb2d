"""Channels: the way to serve a big audience. A channel subscribes when its admins make the bot an
admin that may post; its admins change its settings by posting commands in it; one post reaches
every subscriber of the channel."""

from __future__ import annotations

import json

from bot.store import chats, open_db, own_levels, prefs
from bot.telegram.settings_views import TOGGLE
from tests.fakes.telegram import FakeChat, FakeUser
from tests.telegram_harness import bot_settings, running_bot
from tests.test_delivery import drained, queue_alert, until

ADMIN = FakeUser(333, "Cleo", "cleo", "en")
CHANNEL = FakeChat(-1001234567890, "channel", title="BTC desk alerts", username="btcdesk")


async def test_a_channel_subscribes_when_made_an_admin_that_may_post_and_gets_alerts(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    async with running_bot(settings, fake) as bot:
        fake.member_status_change(CHANNEL, ADMIN, "left", "administrator")
        [welcome] = await fake.wait_for(CHANNEL.id, 1)
        assert welcome.text.startswith("👋 This channel now gets market alerts")
        stored = chats.get_chat(bot.db, CHANNEL.id)
        assert stored is not None and stored.subscribed and stored.type == "channel"

        queue_alert(bot.db, chats.subscribed_chat_ids(bot.db))
        await drained(bot)
        alert = fake.messages_to(CHANNEL.id)[-1]
        assert "BTC broke below 90,000" in alert.text  # one post: every subscriber of the channel reads it

        fake.member_status_change(CHANNEL, ADMIN, "administrator", "administrator", can_post=False)
        await fake.wait_until_consumed(fake.updates[-1]["update_id"])
        assert not chats.get_chat(bot.db, CHANNEL.id).subscribed  # may not post: no longer subscribed
    assert len(fake.messages_to(CHANNEL.id)) == 2


async def test_a_bot_added_without_the_right_to_post_stays_quiet(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake) as bot:
        update = fake.member_status_change(CHANNEL, ADMIN, "left", "administrator", can_post=False)
        await fake.wait_until_consumed(update)
        stored = chats.get_chat(bot.db, CHANNEL.id)
        assert stored is None or not stored.subscribed
    assert fake.messages_to(CHANNEL.id) == []


async def test_channel_admins_change_its_settings_by_posting_commands(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    async with running_bot(settings, fake, db) as bot:
        fake.member_status_change(CHANNEL, ADMIN, "left", "administrator")
        await fake.wait_for(CHANNEL.id, 1)
        fake.channel_post("/set move 4%", CHANNEL)
        [changed] = (await fake.wait_for(CHANNEL.id, 2))[1:]
        assert "4 %" in changed.text
        assert prefs.chosen_values(bot.db, CHANNEL.id) == {"move": '{"value":4.0,"unit":"%"}'}
        fake.channel_post("/lang zh", CHANNEL)
        await fake.wait_for(CHANNEL.id, 3)
        assert chats.get_chat(bot.db, CHANNEL.id).language == "zh"
        fake.channel_post("Good morning, BTC looks heavy today", CHANNEL)  # not a command: not ours
        fake.channel_post("/stop", CHANNEL)
        [stopped] = (await fake.wait_for(CHANNEL.id, 4))[3:]
        assert stopped.text.startswith("🔕 已取消订阅")  # in the channel's language, set just before
        assert not chats.get_chat(bot.db, CHANNEL.id).subscribed
    assert len(fake.messages_to(CHANNEL.id)) == 4


# -- managing a channel from a private chat ---------------------------------------------------

READER = FakeUser(444, "Rui", "rui", "zh")  # reads the channel, does not run it


async def channel_with_admin(fake, bot) -> None:
    """The channel made the bot an admin that may post; ADMIN runs it."""
    fake.set_member(CHANNEL, ADMIN, "administrator")
    fake.member_status_change(CHANNEL, ADMIN, "left", "administrator")
    await fake.wait_for(CHANNEL.id, 1)


async def said(fake, user: FakeUser, text: str) -> str:
    """``user`` sends ``text`` in their private chat; the bot's answer."""
    before = len(fake.messages_to(user.id))
    fake.user_sends(text, user)
    return (await fake.wait_for(user.id, before + 1))[-1].text


async def test_an_admin_picks_the_channel_in_a_private_chat_and_its_settings_commands_change_it(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake) as bot:
        await channel_with_admin(fake, bot)
        fake.user_sends("/channel", ADMIN)
        [offer] = await fake.wait_for(ADMIN.id, 1)
        [[button]] = json.loads(offer.params["reply_markup"])["keyboard"]
        assert button["request_chat"]["chat_is_channel"] and button["request_chat"]["bot_is_member"]
        assert "Commands here change this chat" in offer.text

        fake.user_shares_chat(ADMIN, CHANNEL)  # Telegram's picker: the channels ADMIN runs with the bot in them
        [chosen] = (await fake.wait_for(ADMIN.id, 2))[1:]
        assert "now change the channel <b>BTC desk alerts</b>" in chosen.text
        assert json.loads(chosen.params["reply_markup"]) == {"remove_keyboard": True}

        answer = await said(fake, ADMIN, "/set move 4%")
        assert answer.startswith("📢 <b>BTC desk alerts</b>\n") and "4 %" in answer
        assert prefs.chosen_values(bot.db, CHANNEL.id) == {"move": '{"value":4.0,"unit":"%"}'}
        assert prefs.chosen_values(bot.db, ADMIN.id) == {}  # the private chat's own settings: untouched
        await said(fake, ADMIN, "/mute earnings 2h")
        await said(fake, ADMIN, "/alert add btc below 85000")
        await said(fake, ADMIN, "/tz Asia/Tokyo")
        assert set(prefs.active_mutes(bot.db, CHANNEL.id, bot.app.bot_data.deps.clock.now())) >= {"earnings_shock"}
        assert [(lv.symbol, lv.price) for lv in own_levels.levels_of(bot.db, CHANNEL.id)] == [("BTC", 85_000.0)]
        assert chats.get_chat(bot.db, CHANNEL.id).timezone == "Asia/Tokyo"
        assert "Asia/Tokyo" in await said(fake, ADMIN, "/settings")
        fake.press_button(TOGGLE + "charts", ADMIN, fake.messages_to(ADMIN.id)[-1])  # its on/off buttons too
        await until(lambda: "charts" in prefs.chosen_values(bot.db, CHANNEL.id), what="the channel's charts off")
        assert prefs.chosen_values(bot.db, CHANNEL.id)["charts"] == "false"
        shown = await said(fake, ADMIN, "/alert list")
        assert shown.startswith("📢 <b>BTC desk alerts</b>") and "85,000" in shown

        assert "change this chat again" in await said(fake, ADMIN, "/channel off")
        await said(fake, ADMIN, "/set move 3%")
        assert prefs.chosen_values(bot.db, ADMIN.id) == {"move": '{"value":3.0,"unit":"%"}'}
        assert prefs.chosen_values(bot.db, CHANNEL.id)["move"] == '{"value":4.0,"unit":"%"}'
    assert len(fake.messages_to(CHANNEL.id)) == 1  # nothing of this was posted in the channel


async def test_by_name_only_its_admins_may_manage_a_channel_and_one_who_is_no_longer_stops_at_once(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake) as bot:
        await channel_with_admin(fake, bot)
        refused = await said(fake, READER, "/channel @BTCdesk")
        assert refused == "只有 <b>BTC desk alerts</b> 的管理员可以管理它。"
        assert chats.managing(bot.db, READER.id) is None
        unknown = await said(fake, ADMIN, "/channel @nosuchdesk")
        assert unknown.count("\n") == 1 and "No channel “@nosuchdesk”" in unknown

        assert "now change the channel" in await said(fake, ADMIN, "/channel @btcdesk")
        fake.set_member(CHANNEL, ADMIN, "member")  # demoted: Telegram tells the bot (chat_member)
        await fake.wait_until_consumed(fake.updates[-1]["update_id"])
        lost = await said(fake, ADMIN, "/set move 1%")
        assert "no longer manage <b>BTC desk alerts</b> (you are not one of its admins)" in lost
        assert prefs.chosen_values(bot.db, CHANNEL.id) == {} and prefs.chosen_values(bot.db, ADMIN.id) == {}
        assert chats.managing(bot.db, ADMIN.id) is None
        await said(fake, ADMIN, "/set move 1%")  # the next command is the private chat's own again
        assert prefs.chosen_values(bot.db, ADMIN.id) == {"move": '{"value":1.0,"unit":"%"}'}


async def test_a_channel_the_bot_may_no_longer_post_in_is_no_longer_managed(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake) as bot:
        await channel_with_admin(fake, bot)
        fake.user_shares_chat(ADMIN, CHANNEL)
        await fake.wait_for(ADMIN.id, 1)
        fake.member_status_change(CHANNEL, ADMIN, "administrator", "left")  # the bot was removed
        await fake.wait_until_consumed(fake.updates[-1]["update_id"])
        lost = await said(fake, ADMIN, "/mute all 1h")
        assert "(the bot may no longer post there)" in lost
        assert prefs.active_mutes(bot.db, CHANNEL.id, bot.app.bot_data.deps.clock.now()) == {}
        group = FakeChat(-555, "supergroup", title="Traders")
        fake.user_sends("/channel", ADMIN, group)
        [answer] = await fake.wait_for(group.id, 1)
        assert answer.text.startswith("/channel works in a private chat with the bot")
