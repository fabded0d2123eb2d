"""The command kit through the fake Bot API: group admins asked once and cached, refreshed when
Telegram says a member changed, anonymous admins recognised; bad arguments answered in one line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import values
from bot.clock import ManualClock
from bot.store import own_levels
from bot.values import Threshold
from tests.fakes.telegram import FakeChat, FakeTelegram, FakeUser, Sent
from tests.helpers import chosen
from tests.telegram_harness import bot_settings, running_bot

T0 = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
ADA = FakeUser(111, "Ada", "ada", "en")
BOB = FakeUser(333, "Bob", "bob", "en")
GROUP = FakeChat(-100700, "supergroup", title="Desk")


@pytest.fixture
async def bot(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake, clock=ManualClock(T0)) as running:
        yield running


async def ask(fake: FakeTelegram, text: str, user: FakeUser, chat: FakeChat = GROUP, **extra) -> Sent:
    before = len(fake.messages_to(chat.id))
    fake.user_sends(text, user, chat, **extra)
    return (await fake.wait_for(chat.id, before + 1))[before]


async def test_a_groups_admins_are_asked_once_for_many_commands(fake, bot):
    fake.set_member(GROUP, ADA, "administrator")
    for text in ("/set corr 3.5", "/set move 3", "/mute move 2h"):
        assert (await ask(fake, text, ADA)).text.startswith(("✅", "🔕"))
    assert (await ask(fake, "/set shock 9", BOB)).text == "In groups only chat admins can do that."
    assert fake.admin_lookups == [GROUP.id]


async def test_a_member_change_is_seen_at_once(fake, bot):
    fake.set_member(GROUP, ADA, "administrator")
    assert (await ask(fake, "/set corr 3.5", ADA)).text == "✅ Correlation change alert: 3.5σ"
    fake.set_member(GROUP, ADA, "member")  # Telegram sends chat_member: the cache is dropped
    assert (await ask(fake, "/set corr 4", ADA)).text == "In groups only chat admins can do that."
    assert chosen(bot.db, GROUP.id)["corr"] == Threshold(3.5, "σ")
    fake.set_member(GROUP, BOB, "creator")
    assert (await ask(fake, "/set corr 4", BOB)).text == "✅ Correlation change alert: 4σ"
    assert fake.admin_lookups == [GROUP.id] * 3


async def test_an_anonymous_admin_posting_as_the_group_may_change_it(fake, bot):
    anonymous = FakeUser(1087968824, "Group", "GroupAnonymousBot", None)
    reply = await ask(fake, "/set corr 3.75", anonymous, sender_chat=GROUP.to_api())
    assert reply.text == "✅ Correlation change alert: 3.75σ"
    assert fake.admin_lookups == []  # nobody needed asking
    other = FakeChat(-100999, "channel", title="Someone's channel")
    reply = await ask(fake, "/set corr 5", anonymous, sender_chat=other.to_api())
    assert reply.text == "In groups only chat admins can do that."
    assert chosen(bot.db, GROUP.id)["corr"] == Threshold(3.75, "σ")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("/set corr lots", "“lots” is not a number.\nUsage: <code>/set corr 3.5</code>"),
        (
            "/alert add btc sideways 9",
            "“sideways”: expected one of above, below.\nUsage: <code>/alert add btc 88000</code>",
        ),
        (
            "/alert add doge below 1",
            "DOGE is not tracked. Tracked symbols: BTC, NVDA, AMD, ORCL, MSFT, AVGO, META, TSM, QQQ.\n"
            "Usage: <code>/alert add btc 88000</code>",
        ),
        (
            "/alert del x",
            "“x” is not an alert number: use the # number that /alert list shows.\nUsage: <code>/alert del 3</code>",
        ),
    ],
)
async def test_a_bad_argument_gets_one_line_with_the_usage_of_what_was_tried(fake, bot, text, answer):
    reply = await ask(fake, text, ADA, ADA.private_chat)
    assert reply.params["text"] == answer
    assert own_levels.levels_of(bot.db, ADA.id) == [] and chosen(bot.db, ADA.id) == {}


@pytest.mark.parametrize("text", ["90000", "90,000", "９００００", "٩٠٠٠٠", "९००००", "90k"])
def test_any_script_s_decimal_digits_read_as_the_same_number(text):
    """A number typed with the digits of another script (full-width, Arabic-Indic, Devanagari)
    means what the ASCII digits mean, in every command that takes one."""
    assert values.number(text, low=0, high=1e9) == 90_000
    assert values.price(text) == 90_000


@pytest.mark.parametrize("text", ["9⁰⁰⁰⁰", "½", "90000²", "Ⅸ", "9０,000.٫5"])
def test_digits_that_are_not_decimal_digits_are_refused(text):
    with pytest.raises(values.BadArgument):
        values.number(text, low=0, high=1e9)
