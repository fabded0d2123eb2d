"""The operator's view: ``/metrics`` scraped over HTTP while the real bot delivers and answers."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.store import open_db
from tests.fakes.telegram import FakeUser
from tests.telegram_harness import bot_settings, running_bot
from tests.test_delivery import add_chats, drained, queue_alert, until

ADA = FakeUser(111, "Ada", "ada", "en")


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) → value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_tell_deliveries_latency_commands_sources_and_the_outbox(fake, tmp_path):
    settings = bot_settings(fake, tmp_path, metrics_port=0)
    db = open_db(settings.database_path)
    add_chats(db, [1, 2, 3, 4, 5])
    fake.inject("sendMessage", 403, chat_id=5, times=10)  # this one blocked the bot
    async with running_bot(settings, fake, db) as bot:
        deps = bot.app.bot_data.deps
        port = deps.metrics.port
        now = datetime.now(UTC)
        bot.health.success("binance", now)
        bot.health.failure("yfinance", now, "yfinance: unreachable")
        bot.health.set_stale({"NVDA": None})
        queue_alert(db, [1, 2, 3, 4, 5])
        await drained(bot)
        fake.user_sends("/help", ADA)
        await fake.wait_for(ADA.id, 1)

        gauge = ("alertbot_outbox_pending", ())
        await until(lambda: scrape(port)[gauge] == 0, 10, "the outbox gauge (refreshed each second) to read 0")
        metrics = await asyncio.to_thread(scrape, port)
    sent = {o: metrics[("alertbot_deliveries_total", (("outcome", o),))] for o in ("sent", "blocked", "dropped")}
    assert sent == {"sent": 4, "blocked": 1, "dropped": 0}
    assert metrics[("alertbot_alert_delivery_seconds_count", ())] == 4
    assert metrics[("alertbot_alert_delivery_seconds_bucket", (("le", "+Inf"),))] == 4
    assert metrics[("alertbot_command_seconds_count", (("command", "help"),))] == 1
    assert metrics[("alertbot_source_up", (("source", "binance"),))] == 1
    assert metrics[("alertbot_source_up", (("source", "yfinance"),))] == 0
    assert metrics[("alertbot_source_last_success_timestamp_seconds", (("source", "binance"),))] == pytest.approx(
        now.timestamp()
    )
    assert metrics[("alertbot_series_stale", (("symbol", "NVDA"),))] == 1
    assert metrics[("alertbot_telegram_reachable", ())] == 1
    assert metrics[("alertbot_database_writable", ())] == 1
    with pytest.raises(OSError):  # the bot stopped: so did its metrics server
        await asyncio.to_thread(scrape, port)


async def test_no_metrics_server_unless_a_port_is_set(fake, tmp_path):
    async with running_bot(bot_settings(fake, tmp_path), fake) as bot:
        await until(lambda: bot.app.running, what="the bot to run")
        assert bot.app.bot_data.deps.metrics.port is None
