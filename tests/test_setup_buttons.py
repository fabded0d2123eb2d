"""Setup by tapping (issue 13): /start in a private chat offers language, timezone and the kinds of
alert to receive as buttons; a group's alert links to a private chat where one's own alerts are
set. Through the fake Bot API with PTB's real HTTP stack."""

from __future__ import annotations

import json

from bot.engine.audience import load_audience
from bot.store import chats, prefs
from tests.test_alert_buttons import _answered, buttons, cross
from tests.test_alert_buttons import running as running  # the running bot, its engine
from tests.test_engine import T0
from tests.test_settings_commands import ADA, BOB, GROUP, ask, wait_for_edits


async def test_start_in_a_private_chat_sets_language_timezone_and_kinds_by_tapping(fake, running):
    bot, _ = running
    welcome = await ask(fake, "/start", ADA)
    assert welcome.text.endswith(
        "Set this chat up with a tap: its language, its timezone (for the times in alerts and quiet hours), "
        "and which alerts arrive."
    )
    rows = buttons(welcome)
    assert [label for label, _ in rows[0]] == ["✓ English", "中文"]
    assert [label for row in rows[1:3] for label, _ in row] == [
        "✓ UTC", "New York", "London", "Berlin", "Shanghai", "Singapore", "Tokyo", "⌨️ Another…",
    ]  # fmt: skip
    assert [label for row in rows[3:] for label, _ in row] == [
        "✅ level breaks", "✅ large moves", "✅ correlation changes", "✅ earnings shocks",
    ]  # fmt: skip

    fake.press_button("setup:tz:shanghai", ADA, welcome)
    await wait_for_edits(fake, ADA.id, 1)
    assert chats.get_chat(bot.db, ADA.id).timezone == "Asia/Shanghai"
    fake.press_button("setup:kind:correlation", ADA, welcome)
    await wait_for_edits(fake, ADA.id, 2)
    [me] = [c for c in load_audience(bot.db, bot.settings, T0) if c.chat_id == ADA.id]
    assert not me.wants("correlation_spike") and me.wants("level_break"), "turned off for good, the rest still on"
    fake.press_button("setup:lang:zh", ADA, welcome)
    edits = await wait_for_edits(fake, ADA.id, 3)
    assert chats.get_chat(bot.db, ADA.id).language == "zh"
    assert edits[2].text.startswith("👋 <b>已订阅。</b>"), "redrawn in the language just chosen"
    rows = buttons(edits[2])
    assert rows[0][1][0] == "✓ 中文" and "✓ 上海" in [label for label, _ in rows[1] + rows[2]]
    assert "⬜ 相关性变化" in [label for row in rows[3:] for label, _ in row]
    fake.press_button("setup:tz:other", ADA, welcome)
    await _answered(fake, 4)
    answer = fake.callback_answers[-1]
    assert answer["text"].startswith("请发送 /tz 加上你所在时区的名称") and answer["show_alert"] == "true"
    assert [a["text"] for a in fake.callback_answers[:3]] == [
        "🕒 Timezone: Asia/Shanghai",
        "✅ Alerts received: level breaks, large moves, earnings shocks",
        "✅ 语言：中文。本聊天的回复和提醒将使用该语言。",
    ]
    reply = await ask(fake, "/settings", ADA)
    assert "接收的提醒：价位突破、大幅波动、财报冲击" in reply.text


async def test_setup_presses_that_are_not_ours_change_nothing(fake, running):
    bot, _ = running
    welcome = await ask(fake, "/start", ADA)
    for data in ("setup:tz:Mars/Olympus", "setup:lang:xx", "setup:kind:everything", "setup:"):
        fake.press_button(data, ADA, welcome)
    await _answered(fake, 4)
    assert {a["text"] for a in fake.callback_answers} == {"This button is out of date: nothing was changed."}
    assert chats.get_chat(bot.db, ADA.id).timezone == "UTC" and prefs.chosen_values(bot.db, ADA.id) == {}


async def test_a_group_alert_links_to_a_private_chat_for_ones_own_alerts(fake, running):
    bot, engine = running
    fake.set_member(GROUP, ADA, "creator")
    reply = await ask(fake, "/start", ADA, GROUP)
    assert "reply_markup" not in reply.params, "no setup buttons in a group: its admins use /settings"
    alerts = await cross(fake, engine, bot.db, GROUP.id)
    link = json.loads(alerts[GROUP.id].params["reply_markup"])["inline_keyboard"][-1]
    assert link == [{"text": "🔔 My own alerts", "url": "https://t.me/AlertTestBot?start=alerts"}]
    opened = await ask(fake, "/start alerts", BOB)  # what the link sends, in Bob's private chat
    assert opened.text.startswith("🔔 Your own alerts arrive here, in this private chat. Add one: /alert add btc 88000")
    assert "This chat has no levels of its own." in opened.text
