"""Delivery at Telegram's limits: one alert to 3,000 chats through PTB's real HTTP stack.

The outbox sender drains into the local fake Bot API (``tests/fakes/telegram.py``) with a
fake per-request latency (default 50 ms, like a real round trip). What the fake recorded
is measured as Telegram would count it: sustained messages a second, the most messages
in any sliding one-second window (Telegram allows about 30), the most to one chat in a
second (1), and every chat checked for a lost or a duplicated message.

The same broadcast as a chart alert (a real matplotlib chart, drawn once and uploaded once,
then sent by ``file_id``) gives ``fanout_chart_msgs_per_s``.

Measured in the same run for comparison: the same sender one request at a time (the
latency caps it), and PTB's stock ``AIORateLimiter`` (it lets about twice the limit
through in its first second).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, BaseRateLimiter, Defaults

from benchmarks import quiet
from bot.charts import correlation_chart
from bot.clock import SystemClock
from bot.delivery.limiter import SmoothRateLimiter
from bot.delivery.photos import Attach
from bot.delivery.sender import Sender
from bot.domain import Alert
from bot.logs import register_secret
from bot.rules.levels import LevelBreak
from bot.sources.replay_data import load_replay_data
from bot.store import open_db, outbox
from bot.store.db import utcnow_iso
from tests.fakes.flood import flood_report
from tests.fakes.telegram import TOKEN, FakeTelegram

T0 = datetime(2025, 12, 11, 21, 0, tzinfo=UTC)


class SlowTelegram(FakeTelegram):
    """The fake Bot API, each request taking ``latency`` seconds on the way in."""

    latency: float = 0.0

    async def _dispatch(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super()._dispatch(request)


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    chats: int
    concurrency: int
    rate: float
    max_per_second: int
    first_second: int
    chat_max_per_second: int
    lost: int
    duplicated: int
    outbox_sent: int


async def _broadcast(
    name: str, limiter: BaseRateLimiter, chats: int, concurrency: int, latency: float, attach: Attach | None = None
) -> Run:
    fake = SlowTelegram()
    fake.latency = latency
    url = await fake.start()
    register_secret(TOKEN)  # as the bot does: no log line shows it
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(limiter)
        .updater(None)
        .build()
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        try:
            targets = list(range(1, chats + 1))
            stamp = utcnow_iso(T0)
            db.conn.executemany(
                "INSERT INTO chats (id, type, subscribed, created_at, updated_at) VALUES (?, 'private', 1, ?, ?)",
                [(c, stamp, stamp) for c in targets],
            )
            alert = LevelBreak("BTC", T0, 90_000.0, "down", 89_281.0, 88_950.0, 0.8)
            with db.atomic():
                alert_id = outbox.record_alert(db, alert, T0)
                assert alert_id is not None
                outbox.queue(db, [outbox.Message(chat, (alert_id,)) for chat in targets])
            await app.initialize()
            try:
                await Sender(db, app.bot, SystemClock(), concurrency=concurrency, attach=attach).drain()
            finally:
                await app.shutdown()
            outbox_sent = db.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]
        finally:
            db.close()
    await fake.stop()
    sent = [m for m in fake.sent if m.method in ("sendMessage", "sendPhoto")]
    report = flood_report(sent)
    per_chat = Counter(m.chat_id for m in sent)
    start = min(m.at for m in sent)
    return Run(
        name=name,
        chats=chats,
        concurrency=concurrency,
        rate=report.rate,
        max_per_second=report.overall_max_per_second,
        first_second=sum(m.at < start + 1.0 for m in sent),
        chat_max_per_second=report.chat_max_per_second,
        lost=sum(1 for c in range(1, chats + 1) if per_chat[c] == 0),
        duplicated=sum(1 for n in per_chat.values() if n > 1),
        outbox_sent=outbox_sent,
    )


def real_chart() -> Attach:
    """A chart as an alert's: BTC and NVDA over their rolling correlation, from the shipped data,
    drawn by matplotlib on a worker thread (0.25–0.5 s each)."""
    data = load_replay_data()
    btc, nvda = data.series("BTC", "1d"), data.series("NVDA", "1d")

    async def attach(alert: Alert, lang: str) -> bytes | None:
        return await asyncio.to_thread(correlation_chart, "NVDA", btc, nvda, 20, lang)

    return attach


async def _all(
    chats: int, baseline_chats: int, sequential_chats: int, latency: float, chart_chats: int
) -> dict[str, Run]:
    return {
        "smooth": await _broadcast("SmoothRateLimiter", SmoothRateLimiter(), chats, 32, latency),
        "chart": await _broadcast("SmoothRateLimiter", SmoothRateLimiter(), chart_chats, 32, latency, real_chart()),
        "sequential": await _broadcast("SmoothRateLimiter", SmoothRateLimiter(), sequential_chats, 1, latency),
        "aio": await _broadcast("AIORateLimiter", AIORateLimiter(max_retries=3), baseline_chats, 32, latency),
    }


def run(
    chats: int = 3_000,
    baseline_chats: int = 300,
    sequential_chats: int = 100,
    latency: float = 0.05,
    chart_chats: int | None = None,
) -> dict:
    """Run the four broadcasts; returns their measurements and the latency used."""
    with quiet(bot_delivery=logging.ERROR):
        runs = asyncio.run(_all(chats, baseline_chats, sequential_chats, latency, chart_chats or chats))
    return {"latency": latency, **runs}


def report(result: dict) -> str:
    smooth: Run = result["smooth"]
    sequential: Run = result["sequential"]
    aio: Run = result["aio"]
    chart: Run = result["chart"]
    ok_rate = smooth.rate >= 29
    ok_window = smooth.max_per_second <= 30 and smooth.chat_max_per_second <= 1
    ok_once = smooth.lost == smooth.duplicated == 0 and smooth.outbox_sent == smooth.chats
    latency_ms = result["latency"] * 1000
    lines = [
        f"delivery: one alert to {smooth.chats:,} chats through PTB's HTTP stack, fake Bot API, "
        f"{latency_ms:.0f} ms a request",
        f"  SmoothRateLimiter, {smooth.concurrency} in flight: {smooth.rate:.1f} msgs/s sustained"
        f"  [{'ok' if ok_rate else 'FAIL'}: >= 29/s]",
        f"    max in any 1 s window {smooth.max_per_second} (first second {smooth.first_second}),"
        f" per chat max {smooth.chat_max_per_second}/s  [{'ok' if ok_window else 'FAIL'}: <= 30, <= 1]",
        f"    lost {smooth.lost}, duplicated {smooth.duplicated}, outbox marked sent {smooth.outbox_sent:,}"
        f"  [{'ok' if ok_once else 'FAIL'}: 0, 0, all]",
        f"  a chart alert to {chart.chats:,} chats (drawn once, then sent by file_id): {chart.rate:.1f} msgs/s"
        f"  [{'ok' if chart.rate >= 29 else 'MISSED'}: >= 29/s], lost {chart.lost}, duplicated {chart.duplicated}",
        f"  same sender, 1 in flight ({sequential.chats} chats): {sequential.rate:.1f} msgs/s"
        f" (a round trip per message caps it)",
        f"  PTB AIORateLimiter ({aio.chats} chats): max in any 1 s window {aio.max_per_second}"
        f" (first second {aio.first_second}), {aio.rate:.1f} msgs/s sustained,"
        f" lost {aio.lost}, duplicated {aio.duplicated}",
    ]
    return "\n".join(lines)
