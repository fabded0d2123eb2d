"""One chat waiting never holds up another: the real application at Telegram's own pace.

Each update is handled in its chat's lane (``bot/telegram/lanes.py``). What a user would
notice is checked by order, never by timing: another chat's reply arrives while the
throttled group or the busy chat still has replies to come, and a chat's own replies come
in the order of its commands.
"""

from __future__ import annotations

import pytest

from bot.delivery.schedule import Limits
from tests.fakes.telegram import FakeChat, FakeUser
from tests.telegram_harness import bot_settings, running_bot

pytestmark = pytest.mark.slow  # Telegram's real pacing: one message a second per chat

ADA = FakeUser(111, "Ada", "ada", "en")
BOB = FakeUser(222, "Bob", "bob", "en")
GROUP = FakeChat(-100700, "supergroup", title="Desk")


async def test_a_group_held_at_its_limit_does_not_hold_another_chats_reply(fake, tmp_path):
    """The issue's case: another user's /help waited 61 s behind a group at Telegram's limit."""
    # Telegram's limits, but a group's minute holds 3 messages instead of 20: the same wait, sooner
    async with running_bot(bot_settings(fake, tmp_path), fake, limits=Limits(group=3)):
        for _ in range(6):
            fake.user_sends("/help", BOB, GROUP)
        await fake.wait_for(GROUP.id, 3, timeout=60)  # the group's minute is used up
        fake.user_sends("/help", ADA)
        [reply] = await fake.wait_for(ADA.id, 1, timeout=30)
        assert "/status" in reply.text
        assert len(fake.messages_to(GROUP.id)) == 3  # the group's 4th reply waits for its next minute


async def test_a_busy_chat_does_not_hold_another_chats_reply_and_keeps_its_own_order(fake, tmp_path):
    """Bob sends eight commands at once (one reply a second in a private chat); Ada's /help,
    sent after them, is answered before Bob's last reply; Bob's replies follow his commands."""
    async with running_bot(bot_settings(fake, tmp_path), fake, limits=Limits()):
        commands = [
            "/start",
            "/set move 4%",
            "/settings",
            "/tz Europe/Berlin",
            "/settings",
            "/help",
            "/status",
            "/lang",
        ]
        for text in commands:
            fake.user_sends(text, BOB)
        await fake.wait_for(BOB.id, 2, timeout=30)
        fake.user_sends("/help", ADA)
        await fake.wait_for(ADA.id, 1, timeout=30)
        assert len(fake.messages_to(BOB.id)) < len(commands)  # Bob's queue was not drained first
        replies = [m.text for m in await fake.wait_for(BOB.id, len(commands), timeout=60)]
    assert "Subscribed" in replies[0]
    assert "4 %" in replies[1] and "4 %" in replies[2]  # the /set is done before the /settings after it
    assert "Europe/Berlin" in replies[3] and "Europe/Berlin" in replies[4]
    assert "/status" in replies[5] and "subscribed chat" in replies[6]
