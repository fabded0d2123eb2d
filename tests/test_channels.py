"""Channels: the way to serve a big audience. A channel subscribes when its admins make the bot an
admin that may post; its admins change its settings by posting commands in it; one post reaches
every subscriber of the channel."""

from __future__ import annotations

from bot.store import chats, open_db, prefs
from tests.fakes.telegram import FakeChat, FakeUser
from tests.telegram_harness import bot_settings, running_bot
from tests.test_delivery import drained, queue_alert

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
