"""Quiet hours and silent kinds (issue 13): alerts in a chat's quiet hours, or of kinds it hears
silently, arrive without a notification (Telegram's ``disable_notification``), never later and
never dropped. Set with /quiet and /set silent, shown and switched in /settings; checked through
the fake Bot API with PTB's real HTTP stack."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from bot.clock import ManualClock
from bot.engine.engine import Engine
from bot.markettime import MarketHours
from bot.quiet import in_quiet_hours, is_silent, parse_hours, parse_silent, silent_kinds
from bot.rules.earnings_upcoming import EarningsUpcoming
from bot.rules.registry import MUTE_GROUPS
from bot.store import chats, market, open_db, outbox, prefs
from bot.values import BadArgument
from tests.fakes.telegram import FakeTelegram, Sent
from tests.telegram_harness import bot_settings, running_bot
from tests.test_alert_buttons import cross
from tests.test_engine import T0
from tests.test_settings_commands import ADA, ask, quote, snapshot, wait_for_edits

# -- the rules of it (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "hours"),
    [("23:00-07:00", "23:00-07:00"), ("23-7", "23:00-07:00"), ("22:30 – 6:05", "22:30-06:05"), ("off", None)],
)
def test_quiet_hours_read_as_people_type_them(typed, hours):
    assert parse_hours(typed) == hours


@pytest.mark.parametrize("typed", ["25:00-07:00", "23:00-07:60", "7-7", "soon", "23:00", "-"])
def test_what_is_not_a_span_of_hours_is_refused(typed):
    with pytest.raises(BadArgument):
        parse_hours(typed)


def test_quiet_hours_are_in_the_chats_timezone_and_may_cross_midnight():
    shanghai = "Asia/Shanghai"  # UTC+8
    assert not in_quiet_hours(T0, shanghai, "23:00-07:00")  # 14:00 UTC: 22:00 in Beijing
    assert in_quiet_hours(T0 + timedelta(hours=1), shanghai, "23:00-07:00")  # 23:00 there
    assert in_quiet_hours(T0 + timedelta(hours=8, minutes=59), shanghai, "23:00-07:00")  # 06:59
    assert not in_quiet_hours(T0 + timedelta(hours=9), shanghai, "23:00-07:00")  # 07:00: over
    assert in_quiet_hours(T0, "UTC", "12:00-15:00") and not in_quiet_hours(T0, "UTC", "15:00-12:00")


def test_a_message_is_silent_only_if_every_alert_in_it_is():
    assert is_silent(["earnings_upcoming"], T0, "UTC", None, ["heads-up"], MUTE_GROUPS)
    assert not is_silent(["earnings_upcoming", "earnings_shock"], T0, "UTC", None, ["heads-up"], MUTE_GROUPS)
    assert is_silent(["level_break"], T0, "UTC", "12:00-15:00", (), MUTE_GROUPS)


def test_every_kind_of_alert_can_be_made_silent():
    every = {kind for group, kinds in MUTE_GROUPS.items() if group != "all" for kind in kinds}
    assert silent_kinds(parse_silent("level_break,move,correlation,earnings,heads-up"), MUTE_GROUPS) == every
    assert parse_silent("moves 、 headsup") == ("move", "heads-up")
    assert parse_silent("none") == ()


# -- through the bot -------------------------------------------------------------------------------


@pytest.fixture
async def running(fake, tmp_path):
    settings = bot_settings(fake, tmp_path, default_levels="BTC:90000")
    db = open_db(settings.database_path)
    engine = Engine(db, settings, MarketHours(T0.date(), T0.date() + timedelta(days=30)))
    clock = ManualClock(T0)
    async with running_bot(settings, fake, db=db, engine=engine, clock=clock) as bot:
        market.insert_quotes(db, [quote("BTC", 90_400)])
        yield bot, engine, clock


def rings(message: Sent) -> bool:
    return message.params.get("disable_notification") not in ("true", True)


async def test_an_alert_in_quiet_hours_arrives_without_a_sound(fake, running):
    bot, engine, clock = running
    await ask(fake, "/start", ADA)
    await ask(fake, "/tz Asia/Shanghai", ADA)
    reply = await ask(fake, "/quiet 23:00 - 07:00", ADA)
    assert reply.text.splitlines() == [
        "✅ Quiet hours: 23:00–07:00",
        "Alerts in these hours arrive without a notification, none is held back; the hours are in this "
        "chat's timezone, Asia/Shanghai (/tz changes it).",
    ]
    clock.set(T0 + timedelta(hours=1))  # 23:00 in Beijing
    alerts = await cross(fake, engine, bot.db, ADA.id)
    assert not rings(alerts[ADA.id]), "sent at once, silently"
    assert (await ask(fake, "/quiet", ADA)).text.startswith("🌙 Quiet hours: 23:00–07:00 (Asia/Shanghai).")
    await ask(fake, "/quiet off", ADA)
    clock.set(T0 + timedelta(hours=7))
    alerts = await cross_again(fake, engine, bot.db, ADA.id, clock)
    assert rings(alerts[ADA.id])


async def cross_again(fake: FakeTelegram, engine: Engine, db, chat_id: int, clock: ManualClock) -> dict[int, Sent]:
    """Back above 90,000 hours later (past the chop window): a break up."""
    from tests.test_engine import quote as engine_quote

    before = len(fake.messages_to(chat_id))
    start = (clock.now() - T0).total_seconds() / 60
    for i, price in enumerate((89_700, 90_500)):
        q = engine_quote(price, start + i)
        market.insert_quotes(db, [q])
        await engine.decide(q.ts, quotes=[q])
    return {chat_id: (await fake.wait_for(chat_id, before + 1))[before]}


async def test_heads_ups_are_silent_by_default_and_a_chat_can_change_that(fake, running):
    bot, _, _ = running
    await ask(fake, "/start", ADA)
    message = await heads_up(fake, bot.db, ADA.id, "ORCL")
    assert message.text.startswith("<b>🗓 ORCL reports") and not rings(message)
    reply = await ask(fake, "/set silent none", ADA)
    assert reply.text == "✅ Silent kinds: none"
    assert rings(await heads_up(fake, bot.db, ADA.id, "NVDA"))
    reply = await ask(fake, "/set silent heads-up,level_break", ADA)
    assert reply.text == "✅ Silent kinds: level breaks, earnings heads-ups"


async def heads_up(fake: FakeTelegram, db, chat_id: int, symbol: str) -> Sent:
    before = len(fake.messages_to(chat_id))
    alert = EarningsUpcoming(symbol, T0, date(2025, 12, 12), "after_close")
    with db.atomic():
        alert_id = outbox.record_alert(db, alert, T0)
        outbox.queue(db, [outbox.Message(chat_id, (alert_id,))])
    return (await fake.wait_for(chat_id, before + 1))[before]


async def test_settings_shows_and_switches_quiet_hours_and_silent_kinds(fake, running):
    message = await ask(fake, "/settings", ADA)
    assert "Quiet hours: off (default)" in message.text
    assert "Silent kinds: earnings heads-ups (default)" in message.text
    markup = json.loads(message.params["reply_markup"])["inline_keyboard"]
    assert [b["text"] for b in markup[0]][-1] == "🌙 Quiet hours: off"
    assert [b["text"] for row in markup[1:3] for b in row] == [
        "🔔 level breaks", "🔔 large moves", "🔔 correlation changes", "🔔 earnings shocks", "🔕 earnings heads-ups",
    ]  # fmt: skip
    fake.press_button("settings:quiet", ADA, message)
    [edit] = await wait_for_edits(fake, ADA.id, 1)
    assert "Quiet hours: 23:00–07:00\n" in edit.text
    fake.press_button("settings:silent:move", ADA, message)
    edits = await wait_for_edits(fake, ADA.id, 2)
    assert "Silent kinds: large moves, earnings heads-ups\n" in edits[1].text
    fake.press_button("settings:silent:heads-up", ADA, message)
    edits = await wait_for_edits(fake, ADA.id, 3)
    assert "Silent kinds: large moves\n" in edits[2].text
    assert [a["text"] for a in fake.callback_answers] == [
        "✅ Quiet hours: 23:00–07:00",
        "✅ Silent kinds: large moves, earnings heads-ups",
        "✅ Silent kinds: large moves",
    ]


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("/quiet 25:00-07:00", "“25:00-07:00” is not a span of hours: write it like 23:00-07:00 (or off)."),
        ("/quiet 7-7", "“7-7” starts and ends at the same time: write a span like 23:00-07:00."),
        (
            "/quiet <b>night</b>",
            "“&lt;b&gt;night&lt;/b&gt;” is not a span of hours: write it like 23:00-07:00 (or off).",
        ),
        ("/set silent everything", "“everything”: expected one of level_break, move, correlation, earnings, heads-up."),
    ],
)
async def test_bad_quiet_hours_get_one_line_and_store_nothing(fake, running, command, error):
    bot, _, _ = running
    chats.remember_chat(bot.db, ADA.id, "private", now=T0)
    before = snapshot(bot.db)
    reply = await ask(fake, command, ADA)
    usage = "/quiet 23:00-07:00" if command.startswith("/quiet") else "/set corr 3.5"
    assert reply.text == f"{error}\nUsage: <code>{usage}</code>"
    assert snapshot(bot.db) == before


async def test_thresholds_step_up_and_down_from_settings_and_stop_at_their_range(fake, running):
    bot, _, _ = running
    message = await ask(fake, "/settings", ADA)
    rows = json.loads(message.params["reply_markup"])["inline_keyboard"][3:]
    assert [[b["text"] for b in row] for row in rows] == [
        ["➖ Large move", "➕ Large move"], ["➖ Earnings shock", "➕ Earnings shock"],
        ["➖ Correlation change alert", "➕ Correlation change alert"],
    ]  # fmt: skip
    fake.press_button("settings:step:corr:+", ADA, message)
    [edit] = await wait_for_edits(fake, ADA.id, 1)
    assert "Correlation change alert: 3.6σ\n" in edit.text
    fake.press_button("settings:step:shock:-", ADA, message)
    edits = await wait_for_edits(fake, ADA.id, 2)
    assert "Earnings shock: 6 %\n" in edits[1].text
    await ask(fake, "/set corr 2", ADA)
    before = prefs.chosen_values(bot.db, ADA.id)
    fake.press_button("settings:step:corr:-", ADA, message)  # 1.5σ: below the range
    reply = await ask(fake, "/levels", ADA)  # updates are handled in order: the press is done
    assert reply.text.startswith("<b>Key levels</b>")
    answer = fake.callback_answers[-1]
    assert (answer["text"], answer["show_alert"]) == ("1.5σ is out of range: expected 2 to 6.", "true")
    assert prefs.chosen_values(bot.db, ADA.id) == before
