"""The whole bot at Telegram's limits, against the fake Bot API (50 ms a request):

* ``reply_p99_ms_during_drain``: 100,000 subscribed chats, one alert decided for all of them
  (queued by the bot's own fan-out as it starts, then sent at 30 a second); meanwhile five
  other users send ``/help`` in turn: the 99th percentile of the time from their message to
  the bot's reply reaching Telegram;
* ``reply_p99_ms_group_throttled``: a group with 60 alerts to receive, held at Telegram's 20
  messages a minute, while five other users send ``/help``: the same percentile;
* ``startup_s_100k`` and ``rss_mb_100k``: ``python -m bot run --replay`` as its own process,
  on a database of 100,000 subscribed chats: from the process starting to its answer to a
  ``/help`` sent before it started, and its peak resident memory while it replays (the
  audience read, alerts decided and fanned out to 100,000 chats, the sender busy);
* ``replay_year_s``: ``python -m bot replay --start 2025-01-01`` over the whole shipped year.

Nothing here is asserted: ``python -m benchmarks bot`` prints the table and the numbers go to
``benchmarks/results.json``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from benchmarks import quiet
from benchmarks.delivery import SlowTelegram
from bot.config import load_settings
from bot.delivery.schedule import Limits
from bot.engine.engine import Engine
from bot.markettime import default_market_hours
from bot.rules.levels import LevelBreak
from bot.store import fanout, open_db, outbox
from bot.store.db import utcnow_iso
from tests.fakes.telegram import TOKEN, FakeUser
from tests.telegram_harness import bot_parts, running_bot

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 12, 11, 21, 0, tzinfo=UTC)
ASKERS = tuple(FakeUser(10_000_000 + i, f"User{i}", None, "en") for i in range(5))
GOAL_REPLY_MS = 1_500
GOALS = {"rss_mb_100k": 300, "startup_s_100k": 5}


def subscribe(db: Any, chat_ids: range, chat_type: str = "private") -> None:
    stamp = utcnow_iso(T0)
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO chats (id, type, subscribed, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
            [(c, chat_type, stamp, stamp) for c in chat_ids],
        )


def decide_for(db: Any, chat_ids: list[int], minute: int = 0) -> None:
    """One alert decided for ``chat_ids`` as the engine records it (its messages not queued yet)."""
    alert = LevelBreak("BTC", T0.replace(minute=minute), 90_000.0, "down", 89_281.0, 88_950.0, 0.8)
    with db.atomic():
        alert_id = outbox.record_alert(db, alert, T0)
        assert alert_id is not None
        fanout.plan(db, [fanout.Planned(alert_id, None, chat_ids)], T0)


async def ask(fake: SlowTelegram, seconds: float) -> list[float]:
    """Five users send /help in turn (each at most once a second, as Telegram allows a chat) for
    ``seconds``; the time from each message to the bot's reply reaching the fake."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for user in ASKERS:
            before = len(fake.messages_to(user.id))
            start = time.monotonic()
            fake.user_sends("/help", user)
            replies = await fake.wait_for(user.id, before + 1, timeout=120)
            latencies.append(replies[-1].at - start)
            await asyncio.sleep(0.25)
    return latencies


@asynccontextmanager
async def _fake_telegram(latency: float) -> AsyncIterator[SlowTelegram]:
    fake = SlowTelegram()
    fake.latency = latency
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@asynccontextmanager
async def _bot_on(fake: SlowTelegram, prepare: Callable[[Database], object]) -> AsyncIterator[Database]:
    """The bot at Telegram's real limits on a new database that ``prepare`` filled (its fan-out
    and sender started), for the time of the block."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_base_url=fake.url,
            database_path=Path(folder) / "b.db",
        )
        db = open_db(settings.database_path)
        prepare(db)
        parts = bot_parts(settings, db, engine=Engine(db, settings, default_market_hours()))
        async with running_bot(settings, fake, db, parts=parts, limits=Limits()):
            await asyncio.sleep(1)  # the fan-out under way, the sender started
            yield db


async def _during_drain(chats: int, seconds: float, latency: float) -> dict[str, Any]:
    def everyone(db: Database) -> None:
        subscribe(db, range(1, chats + 1))
        decide_for(db, list(range(1, chats + 1)))

    async with _fake_telegram(latency) as fake, _bot_on(fake, everyone) as db:
        latencies = await ask(fake, seconds)
        queued = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    alerts = [m for m in fake.sent if m.chat_id <= chats]
    span = max(m.at for m in alerts) - min(m.at for m in alerts) if len(alerts) > 1 else 0.0
    return {"latencies": latencies, "alerts_sent": len(alerts), "alert_rate": len(alerts) / span if span else 0.0,
            "queued": queued}  # fmt: skip


async def _group_throttled(seconds: float, latency: float) -> dict[str, Any]:
    group = -1_000_000_123

    def busy_group(db: Database) -> None:
        subscribe(db, range(group, group + 1), "supergroup")
        for minute in range(60):  # 60 messages: three minutes' worth at 20 a minute
            decide_for(db, [group], minute)

    async with _fake_telegram(latency) as fake, _bot_on(fake, busy_group):
        latencies = await ask(fake, seconds)
    return {"latencies": latencies, "group_sent": len(fake.messages_to(group))}


async def _startup(chats: int, seconds: float, latency: float) -> dict[str, Any]:
    async with _fake_telegram(latency) as fake:
        return await _run_process(fake, chats, seconds)


async def _run_process(fake: SlowTelegram, chats: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bot-replay.db")  # what `run --replay` opens beside bot.db
        subscribe(db, range(1, chats + 1))
        db.close()
        fake.user_sends("/help", ASKERS[0])  # waiting for the bot as it starts
        env = {
            **os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.url,
            "DATABASE_PATH": str(Path(folder) / "bot.db"), "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--replay", "--speed", "86400",
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        peak = 0
        try:
            [answer] = await fake.wait_for(ASKERS[0].id, 1, timeout=120)
            started = answer.at - start
            until = time.monotonic() + seconds
            while time.monotonic() < until and process.returncode is None:
                peak = max(peak, _rss_kb(process.pid))
                await asyncio.sleep(0.2)
            peak = max(peak, _hwm_kb(process.pid))
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
    alerts = sum(1 for m in fake.sent if m.chat_id <= chats)
    return {"startup_s": started, "rss_mb": peak / 1024, "alerts_sent": alerts}


def _rss_kb(pid: int) -> int:
    return _status_kb(pid, "VmRSS:")


def _hwm_kb(pid: int) -> int:
    return _status_kb(pid, "VmHWM:")


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def replay_year(start_date: str = "2025-01-01") -> float:
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "bot", "replay", "--start", start_date],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    return time.monotonic() - start


def p99_ms(latencies: list[float]) -> float:
    return 1000 * (statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0])


def run(
    chats: int = 100_000, seconds: float = 30.0, latency: float = 0.05, replay_from: str = "2025-01-01"
) -> dict[str, Any]:
    """``replay_from``: where ``replay_year_s``'s replay starts (a quick run replays December only)."""
    with quiet(bot=logging.WARNING, httpx=logging.WARNING, aiohttp=logging.CRITICAL):  # aiohttp: cut-off requests
        drain = asyncio.run(_during_drain(chats, seconds, latency))
        group = asyncio.run(_group_throttled(seconds, latency))
        startup = asyncio.run(_startup(chats, seconds, latency))
    k = f"{chats // 1000}k"
    return {
        "reply_p99_ms_during_drain": round(p99_ms(drain["latencies"])),
        "reply_p99_ms_group_throttled": round(p99_ms(group["latencies"])),
        f"startup_s_{k}": round(startup["startup_s"], 2),
        f"rss_mb_{k}": round(startup["rss_mb"]),
        "replay_year_s": round(replay_year(replay_from), 1),
        "_detail": {
            "drain": drain,
            "group": group,
            "startup": startup,
            "chats": chats,
            "seconds": seconds,
            "replay_from": replay_from,
        },
    }


def report(result: dict[str, Any]) -> str:
    detail = result["_detail"]
    drain, group, startup, chats = detail["drain"], detail["group"], detail["startup"], detail["chats"]
    k = f"{chats // 1000}k"
    reply, throttled = result["reply_p99_ms_during_drain"], result["reply_p99_ms_group_throttled"]
    rss, started = result[f"rss_mb_{k}"], result[f"startup_s_{k}"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    return "\n".join(
        [
            f"the bot at {chats:,} chats, fake Bot API",
            f"  /help during a {chats:,}-chat broadcast: p99 {reply} ms over {len(drain['latencies'])} replies"
            f" (median {1000 * statistics.median(drain['latencies']):.0f} ms)"
            f"  [{verdict(reply <= GOAL_REPLY_MS)}: <= {GOAL_REPLY_MS}];"
            f" meanwhile {drain['alerts_sent']:,} alerts sent at {drain['alert_rate']:.1f}/s,"
            f" {drain['queued']:,} queued",
            f"  /help while a group is held at 20 a minute: p99 {throttled} ms over {len(group['latencies'])} replies"
            f"  [{verdict(throttled <= GOAL_REPLY_MS)}: <= {GOAL_REPLY_MS}]; the group got {group['group_sent']}",
            f"  python -m bot run --replay: first command answered {started:.2f} s after start"
            f"  [{verdict(started <= GOALS['startup_s_100k'])}: <= {GOALS['startup_s_100k']} s];"
            f" peak memory {rss} MB [{verdict(rss <= GOALS['rss_mb_100k'])}: <= {GOALS['rss_mb_100k']}];"
            f" {startup['alerts_sent']:,} alerts sent in {detail['seconds']:.0f} s",
            f"  python -m bot replay from {detail['replay_from']} to the end of the data:"
            f" {result['replay_year_s']:.1f} s",
        ]
    )
