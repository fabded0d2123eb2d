"""The foundation's Telegram behaviour, through PTB's real HTTP stack and a fake Bot API server."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import chats
from bot.telegram.registry import help_lines as all_commands
from tests.fakes.telegram import BOT_USERNAME, TOKEN, FakeChat, FakeUser
from tests.telegram_harness import bot_settings, running_bot

ADA = FakeUser(111, "Ada", "ada", "en")
LI = FakeUser(222, "Li", "li", "zh-hans")
GROUP = FakeChat(-100500, "supergroup", title="Traders <&> Co")
ADMIN_CHAT = 999


@pytest.fixture
async def bot(fake, tmp_path):
    settings = bot_settings(fake, tmp_path, admin_chat_ids=str(ADMIN_CHAT))
    async with running_bot(settings, fake) as running:
        yield running


async def test_start_subscribes_and_explains_what_alerts_come(fake, bot):
    fake.user_sends("/start", ADA)
    [reply] = await fake.wait_for(ADA.id)
    assert "Subscribed" in reply.text
    assert "90,000, 92,000" in reply.text and "NVDA" in reply.text and "QQQ" in reply.text
    assert reply.params["parse_mode"] == "HTML"
    chat = chats.get_chat(bot.db, ADA.id)
    assert chat.subscribed and not chat.blocked and chat.type == "private" and chat.language == "en"


async def test_start_twice_says_already_subscribed(fake, bot):
    fake.user_sends("/start", ADA)
    fake.user_sends("/start", ADA)
    replies = await fake.wait_for(ADA.id, 2)
    assert "already subscribed" in replies[1].text
    assert chats.subscriber_count(bot.db) == 1


async def test_stop_unsubscribes(fake, bot):
    fake.user_sends("/start", ADA)
    fake.user_sends("/stop", ADA)
    replies = await fake.wait_for(ADA.id, 2)
    assert "Unsubscribed" in replies[1].text
    assert not chats.get_chat(bot.db, ADA.id).subscribed
    fake.user_sends("/stop", ADA)
    replies = await fake.wait_for(ADA.id, 3)
    assert "not subscribed" in replies[2].text


async def test_chinese_user_gets_chinese_replies(fake, bot):
    fake.user_sends("/start", LI)
    [reply] = await fake.wait_for(LI.id)
    assert "已订阅" in reply.text
    assert chats.get_chat(bot.db, LI.id).language == "zh"
    fake.user_sends("/help", LI)
    replies = await fake.wait_for(LI.id, 2)
    assert "命令" in replies[1].text


async def test_help_lists_every_command_once(fake, bot):
    fake.user_sends("/help", ADA)
    [reply] = await fake.wait_for(ADA.id)
    lines = [line for line in reply.text.splitlines() if line.startswith("/")]
    names = [line.split()[0] for line in lines]
    assert names[:2] == ["/start", "/stop"] and names[-2:] == ["/status", "/help"]
    assert names == [f"/{name}" for name, _ in all_commands()] and len(set(names)) == len(names)
    assert all(" — " in line for line in lines)


async def test_command_menu_registered_in_both_languages(fake, bot):
    assert [c["command"] for c in fake.commands[None]] == [name for name, _ in all_commands()]
    assert fake.commands["zh"][0]["description"] == "为本聊天订阅行情提醒"


async def test_status_reports_uptime_subscribers_and_no_sources_honestly(fake, bot):
    fake.user_sends("/start", ADA)
    fake.user_sends("/status", ADA)
    replies = await fake.wait_for(ADA.id, 2)
    text = replies[1].text
    assert "1 subscribed chat" in text
    assert "This chat: subscribed" in text
    assert "No market data source is running" in text


async def test_status_shows_each_source_state(fake, bot):
    from datetime import timedelta

    now = bot.app.bot_data.deps.clock.now()
    bot.health.collecting = True
    bot.health.success("binance", now - timedelta(seconds=40))
    bot.health.failure("yfinance", now - timedelta(minutes=5), "yfinance: unreachable")
    bot.health.set_stale({"NVDA": now - timedelta(hours=2), "QQQ": None})
    fake.user_sends("/status", ADA)
    [reply] = await fake.wait_for(ADA.id)
    assert "✅ binance: last success 40s ago" in reply.text
    assert "❌ yfinance: failing for 5m (yfinance: unreachable); last success: never" in reply.text
    assert "• NVDA: last update 2h ago" in reply.text
    assert "• QQQ: last update never" in reply.text


async def test_group_start_with_bot_name_from_admin_subscribes_group(fake, bot):
    fake.set_member(GROUP, ADA, "administrator")
    fake.user_sends(f"/start@{BOT_USERNAME}", ADA, GROUP)
    [reply] = await fake.wait_for(GROUP.id)
    assert "Subscribed" in reply.text
    chat = chats.get_chat(bot.db, GROUP.id)
    assert chat.subscribed and chat.type == "supergroup" and chat.title == "Traders <&> Co"


async def test_group_start_from_non_admin_is_refused_and_stores_nothing(fake, bot):
    fake.set_member(GROUP, ADA, "member")
    fake.user_sends("/start", ADA, GROUP)
    [reply] = await fake.wait_for(GROUP.id)
    assert "only chat admins" in reply.text
    assert chats.get_chat(bot.db, GROUP.id) is None


async def test_group_help_works_for_everyone(fake, bot):
    fake.user_sends(f"/help@{BOT_USERNAME}", LI, GROUP)
    [reply] = await fake.wait_for(GROUP.id)
    assert "/status" in reply.text


async def test_unknown_command_gets_a_helpful_reply(fake, bot):
    fake.user_sends("/frobnicate <b>now</b>", ADA)
    [reply] = await fake.wait_for(ADA.id)
    assert reply.text == "I don't know /frobnicate. Send /help for the list of commands."


async def test_other_bots_commands_in_groups_are_ignored(fake, bot):
    update_id = fake.user_sends("/start@SomeOtherBot", ADA, GROUP)
    await fake.wait_until_consumed(update_id)
    fake.user_sends(f"/help@{BOT_USERNAME}", ADA, GROUP)
    replies = await fake.wait_for(GROUP.id)
    assert len(replies) == 1 and "/status" in replies[0].text


async def test_bot_blocked_and_unblocked_via_my_chat_member(fake, bot):
    fake.user_sends("/start", ADA)
    await fake.wait_for(ADA.id)
    fake.member_status_change(ADA.private_chat, ADA, "member", "kicked")
    for _ in range(200):
        if chats.get_chat(bot.db, ADA.id).blocked:
            break
        await asyncio.sleep(0.02)
    assert chats.get_chat(bot.db, ADA.id).blocked
    assert chats.subscriber_count(bot.db) == 0
    update_id = fake.member_status_change(ADA.private_chat, ADA, "kicked", "member")
    await fake.wait_until_consumed(update_id)
    fake.user_sends("/status", ADA)
    await fake.wait_for(ADA.id, 2)
    assert not chats.get_chat(bot.db, ADA.id).blocked


async def test_added_to_group_greets_and_points_to_start(fake, bot):
    fake.member_status_change(GROUP, ADA, "left", "member")
    [reply] = await fake.wait_for(GROUP.id)
    assert "/start" in reply.text
    assert not chats.get_chat(bot.db, GROUP.id).subscribed


async def test_429_on_reply_is_retried_and_delivered_once(fake, bot):
    fake.inject("sendMessage", 429, retry_after=1, chat_id=ADA.id)
    fake.user_sends("/start", ADA)
    [reply] = await fake.wait_for(ADA.id)
    assert "Subscribed" in reply.text
    attempts = [a for a in fake.attempts if a[0] == "sendMessage" and a[1] == ADA.id]
    assert len(attempts) == 2
    assert attempts[1][2] - attempts[0][2] >= 1.0  # honoured retry_after
    fake.user_sends("/help", ADA)  # handled after /start is done: nothing more of /start can follow
    await fake.wait_for(ADA.id, 2)
    assert [m.text.split()[0] for m in fake.messages_to(ADA.id)] == ["👋", "<b>Commands</b>"]


async def test_403_marks_the_chat_blocked(fake, bot):
    fake.user_sends("/start", ADA)
    await fake.wait_for(ADA.id)
    fake.inject("sendMessage", 403, chat_id=ADA.id)
    update_id = fake.user_sends("/help", ADA)
    await fake.wait_until_consumed(update_id)
    for _ in range(200):
        if chats.get_chat(bot.db, ADA.id).blocked:
            break
        await asyncio.sleep(0.02)
    assert chats.get_chat(bot.db, ADA.id).blocked
    assert chats.subscriber_count(bot.db) == 0
    assert not fake.messages_to(ADMIN_CHAT), "a blocked user is not an error to page admins about"


async def test_unexpected_error_notifies_admins_escaped_and_short(fake, bot):
    fake.inject("sendMessage", 400, "Bad Request: can't parse entities <x>", chat_id=ADA.id)
    fake.user_sends("/help", ADA)
    [report] = await fake.wait_for(ADMIN_CHAT)
    assert "Unhandled error" in report.text
    assert "BadRequest" in report.text and "&lt;x&gt;" in report.text
    assert len(report.text) < 4096
    assert TOKEN not in report.text and TOKEN.split(":")[1] not in report.text
    # the user hears that something went wrong instead of silence
    [apology] = await fake.wait_for(ADA.id)
    assert "something went wrong" in apology.text


async def test_restart_does_not_lose_or_repeat_updates(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    async with running_bot(settings, fake):
        update_id = fake.user_sends("/start", ADA)
        await fake.wait_for(ADA.id)
        await fake.wait_until_consumed(update_id)
    fake.user_sends("/status", ADA)  # arrives while the bot is down
    async with running_bot(settings, fake):
        await fake.wait_for(ADA.id, 2)
        fake.user_sends("/help", ADA)  # a later update: once it is answered, /status was handled once
        await fake.wait_for(ADA.id, 3)
    assert [r.text.split("\n")[0] for r in fake.messages_to(ADA.id)][1:] == ["<b>Status</b>", "<b>Commands</b>"]
