"""Buttons under alerts and under /alert list (issue 13), pressed through the fake Bot API with PTB's
real HTTP stack: mute the kind, a chart of the recent price, re-arm and delete one's own level.
A press is checked as a command is and always answered; a forged or stale one changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.delivery.compose import compose
from bot.delivery.keyboards import read
from bot.domain import Bar
from bot.engine.engine import Engine
from bot.markettime import MarketHours
from bot.store import chats, market, open_db, own_levels, prefs
from bot.store.due import Pending
from tests.fakes.telegram import FakeTelegram, Sent
from tests.telegram_harness import bot_settings, running_bot
from tests.test_engine import T0
from tests.test_engine import quote as engine_quote
from tests.test_settings_commands import ADA, BOB, GROUP, ask, quote, snapshot, wait_for_edits

PNG = b"\x89PNG\r\n\x1a\n"


def buttons(message: Sent) -> list[list[tuple[str, str]]]:
    markup = json.loads(message.params["reply_markup"])
    return [[(b["text"], b.get("callback_data") or b["url"]) for b in row] for row in markup["inline_keyboard"]]


def hourly(start_price: float, hours: int) -> list[Bar]:
    bars, price = [], start_price
    for i in range(hours):
        ts = T0 - timedelta(hours=hours - i)
        bars.append(Bar("BTC", "1h", ts, price, price + 150, price - 150, price - 20, 10.0, "binance"))
        price -= 20
    return bars


@pytest.fixture
async def running(fake, tmp_path):
    settings = bot_settings(fake, tmp_path, default_levels="BTC:90000")
    db = open_db(settings.database_path)
    engine = Engine(db, settings, MarketHours(T0.date(), T0.date() + timedelta(days=30)))
    async with running_bot(settings, fake, db=db, engine=engine, clock=ManualClock(T0)) as bot:
        market.upsert_bars(db, hourly(91_000, 48))
        market.insert_quotes(db, [quote("BTC", 90_400)])
        yield bot, engine


async def cross(fake: FakeTelegram, engine: Engine, db, *chat_ids: int) -> dict[int, Sent]:
    """BTC from 90,400 through 90,000 (every subscriber's) to 89,600; each chat's alert message."""
    before = {c: len(fake.messages_to(c)) for c in chat_ids}
    for minutes, price in ((1, 90_300), (2, 89_600)):
        q = engine_quote(price, minutes)
        market.insert_quotes(db, [q])
        await engine.decide(q.ts, quotes=[q])
    return {c: (await fake.wait_for(c, before[c] + 1))[before[c]] for c in chat_ids}


async def test_an_alert_carries_mute_and_chart_and_its_owner_re_arm_and_delete(fake, running):
    bot, engine = running
    for user in (ADA, BOB):
        await ask(fake, "/start", user)
    await ask(fake, "/alert add btc 90000", ADA)  # Ada's own, at the global level: fires once
    alerts = await cross(fake, engine, bot.db, ADA.id, BOB.id)
    [[mute_hour, mute_day, chart], mine] = buttons(alerts[ADA.id])
    assert (mute_hour[0], mute_day[0], chart[0]) == ("🔕 1 h", "🔕 1 day", "📈 Chart")
    assert mine == [("🔁 Re-arm #1", "al:r:1"), ("🗑 Delete #1", "al:d:1")]
    assert buttons(alerts[BOB.id]) == [[mute_hour, mute_day, chart]], "Bob owns no level: no re-arm, no delete"

    fake.press_button(mute_hour[1], ADA, alerts[ADA.id])
    await _answered(fake, 1)
    until = prefs.active_mutes(bot.db, ADA.id, T0)["level_break"]
    assert until == T0 + timedelta(hours=1)
    assert fake.callback_answers[-1]["text"].startswith("🔕 Level breaks muted until Thu 11 Dec 2025, 15:00 UTC")
    assert prefs.active_mutes(bot.db, BOB.id, T0) == {}, "only the chat it was pressed in"

    fake.press_button(chart[1], ADA, alerts[ADA.id])
    photo = await _photo(fake, ADA.id)
    assert photo.photo is not None and photo.photo.startswith(PNG)
    assert json.loads(photo.params["reply_parameters"])["message_id"] == alerts[ADA.id].message_id
    await _answered(fake, 2)

    assert own_levels.levels_of(bot.db, ADA.id)[0].state(T0) == "fired"
    fake.press_button(mine[0][1], ADA, alerts[ADA.id])  # re-arm
    await _answered(fake, 3)
    assert own_levels.levels_of(bot.db, ADA.id)[0].state(T0) == "armed"
    assert ADA.id in engine.levels.owners["BTC"][90_000.0]["down"]
    assert fake.callback_answers[-1]["text"].startswith("🔔 Alert armed again: #1 BTC below 90,000 · fires once")

    fake.press_button(mine[1][1], ADA, alerts[ADA.id])  # delete
    await _answered(fake, 4)
    assert own_levels.levels_of(bot.db, ADA.id) == []
    assert "down" not in engine.levels.owners.get("BTC", {}).get(90_000.0, {})
    assert fake.callback_answers[-1]["text"] == "🗑 Alert deleted: #1 BTC below 90,000"


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        ("al:m:nonsense:1", "This button is out of date: nothing was changed."),
        ("al:m:level_break:5", "This button is out of date: nothing was changed."),  # not one of the durations offered
        ("al:c:x", "This button is out of date: nothing was changed."),
        ("al:c:999", "This button is out of date: nothing was changed."),  # not an alert this chat got
        ("al:d:2", "There is no alert #2 in this chat. /alert list shows this chat's alerts."),  # Bob's level
        ("al:r:2", "There is no alert #2 in this chat. /alert list shows this chat's alerts."),
        ("al:D:333:2", "This button is out of date: nothing was changed."),  # Bob's list, pressed by Ada
        ("al:" + "9" * 60, "This button is out of date: nothing was changed."),
    ],
)
async def test_forged_or_stale_presses_are_answered_and_change_nothing(fake, running, data, answer):
    bot, _ = running
    await ask(fake, "/start", ADA)
    await ask(fake, "/alert add btc 85000", ADA)
    await ask(fake, "/alert add btc 95000", BOB)  # level #2 is Bob's
    message = await ask(fake, "/levels", ADA)
    before = snapshot(bot.db)
    fake.press_button(data, ADA, message)
    await _answered(fake, 1)
    assert fake.callback_answers[-1]["text"] == answer
    assert snapshot(bot.db) == before
    assert not [s for s in fake.messages_to(ADA.id) if s.method in ("sendPhoto", "editMessageText")]


async def test_in_a_group_only_admins_may_press(fake, running):
    bot, engine = running
    fake.set_member(GROUP, ADA, "creator")
    await ask(fake, "/start", ADA, GROUP)
    alerts = await cross(fake, engine, bot.db, GROUP.id)
    [[mute_hour, _, _], [private_link]] = buttons(alerts[GROUP.id])
    assert private_link == ("🔔 My own alerts", "https://t.me/AlertTestBot?start=alerts")
    before = snapshot(bot.db)
    fake.press_button(mute_hour[1], BOB, alerts[GROUP.id])
    await _answered(fake, 1)
    answer = fake.callback_answers[-1]
    assert (answer["text"], answer["show_alert"]) == ("In groups only chat admins can do that.", "true")
    assert snapshot(bot.db) == before
    fake.press_button(mute_hour[1], ADA, alerts[GROUP.id])
    await _answered(fake, 2)
    assert "level_break" in prefs.active_mutes(bot.db, GROUP.id, T0)


async def test_alert_list_buttons_delete_and_re_arm_and_redraw_the_list(fake, running):
    bot, _ = running
    await ask(fake, "/alert add btc 88000", ADA)
    await ask(fake, "/alert add btc 95000 every", ADA)
    own_levels.mark_fired(bot.db, [ADA.id], "BTC", 88_000, "below", T0)
    listed = await ask(fake, "/alert list", ADA)
    rearm, delete_1, delete_2 = (
        ("🔁 #1", f"al:R:{ADA.id}:1"),
        ("🗑 #1", f"al:D:{ADA.id}:1"),
        ("🗑 #2", f"al:D:{ADA.id}:2"),
    )
    assert buttons(listed) == [[rearm, delete_1, delete_2]]
    fake.press_button(f"al:R:{ADA.id}:1", ADA, listed)
    [edit] = await wait_for_edits(fake, ADA.id, 1)
    assert "#1 BTC below 88,000 · fires once · 2.7 % below the price now" in edit.text
    assert buttons(edit) == [[delete_1, delete_2]]
    fake.press_button(f"al:D:{ADA.id}:2", ADA, listed)
    edits = await wait_for_edits(fake, ADA.id, 2)
    assert "#2" not in edits[1].text and "(1 of 50)" in edits[1].text
    assert [lv.id for lv in own_levels.levels_of(bot.db, ADA.id)] == [1]
    assert len(fake.callback_answers) == 2


async def test_a_chop_update_keeps_its_buttons(tmp_path):
    """Telegram drops an inline keyboard from a message edited without one."""
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 7, "private", now=T0)
    pending = Pending(1, 7, 0, (("level_break", _a_break()),), "en", "UTC", edit_message_id=42, alert_ids=(1,))
    [part] = await compose(pending, None, T0, timedelta(hours=3))
    assert part.edit == 42 and part.keyboard is not None
    assert read(part.keyboard.inline_keyboard[0][0].callback_data) == ("m", ("level_break", "1"))


def _a_break() -> str:
    from bot.domain import encode_alert
    from bot.rules.levels import LevelBreak

    return encode_alert(LevelBreak("BTC", T0, 90_000.0, "down", 89_600.0, 89_600.0, 0.4))


async def _answered(fake: FakeTelegram, count: int) -> None:
    for _ in range(500):
        if len(fake.callback_answers) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} press(es) not answered: {fake.callback_answers}")


async def _photo(fake: FakeTelegram, chat_id: int) -> Sent:
    for _ in range(1000):
        if photos := [s for s in fake.messages_to(chat_id) if s.method == "sendPhoto"]:
            return photos[-1]
        await asyncio.sleep(0.01)
    raise AssertionError("no chart sent")
