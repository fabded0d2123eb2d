"""`run --replay`: the real bot (commands, subscriptions, thresholds, delivery) on recorded data."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.wiring import replay_parts
from tests.fakes.telegram import FakeUser
from tests.telegram_harness import bot_settings, running_bot

ADA = FakeUser(111, "Ada", "ada", "en")
LI = FakeUser(222, "Li", "li", "zh-hans")


@pytest.mark.slow  # a simulated day every two real seconds
async def test_subscribers_get_the_december_11_alerts_in_their_language(fake, tmp_path, recent_data):
    settings = bot_settings(fake, tmp_path)
    # a simulated day every 2 real seconds, from the evening before ORCL's shock
    parts = await replay_parts(settings, recent_data, date(2025, 12, 11), speed=43_200)
    async with running_bot(settings, fake, parts=parts):
        fake.user_sends("/start", ADA)
        fake.user_sends("/start", LI)
        english = await fake.wait_for(ADA.id, 4, timeout=30)
        chinese = await fake.wait_for(LI.id, 4, timeout=30)
        fake.user_sends("/price btc nvda orcl", ADA)  # replay stores quotes as live does
        for _ in range(100):
            replies = [m.text for m in fake.messages_to(ADA.id) if (m.text or "").startswith("<b>Prices</b>")]
            if replies:
                break
            await fake.wait_for(ADA.id, len(fake.messages_to(ADA.id)) + 1, timeout=30)
        [prices] = replies
    for symbol in ("BTC", "NVDA", "ORCL"):
        assert re.search(rf"<b>{symbol}</b> [0-9,.]+ · ", prices), prices
    photos = [m for m in english if m.method == "sendPhoto"]
    assert photos and photos[0].photo.startswith(b"\x89PNG")  # the ORCL shock comes with its chart
    texts = [m.text for m in english[1:]]
    assert any("ORCL" in t and "−10.8 %" in t for t in texts), texts
    assert any("BTC dipped below 90,000" in t and "back above 90,000" in t for t in texts), texts
    assert any("ORCL" in m.text and "财报" in m.text for m in chinese[1:]), [m.text for m in chinese]
    assert all(m.params["parse_mode"] == "HTML" for m in english)
