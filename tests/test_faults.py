"""Faults a real bot process must survive, tried on `python -m bot run` against the fake Bot API.

- ``kill -9`` in the middle of a broadcast, three times: the sender records each message right
  after Telegram accepts it, so a kill lands during or between database writes. After each
  kill the database passes ``PRAGMA integrity_check``, the next bot starts (the lock dies with
  the process), and in the end every chat has its alert; a message is repeated only if it was
  at Telegram but not yet recorded when the kill came: at most ``CONCURRENCY`` per kill.
- The primary exchange fails every way (429, 418, 503, a cut-off answer) and prints a price of
  0 when it answers: the bot takes its prices from the next exchange, tells no one anything,
  says so in ``/status``, and tells a real crossing of 90,000 once (the exchanges reached
  through ``CRYPTO_EXCHANGE_OPTIONS``, as a user reaches a mirror).
- The database stops taking writes (a file-size limit put on the running process with
  ``prlimit``, as a full disk does): the bot stops sending, tells the admin chat and
  ``/status``, and when writes succeed again it sends the rest, none twice.

The process logs to a file (a pipe nobody reads would fill up and stall it); every line of
it is checked for the token.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sqlite3
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.sender import CONCURRENCY
from bot.store import open_db
from tests.fakes.exchange import BINANCE_TICKERS, FakeExchange
from tests.fakes.telegram import TOKEN, FakeTelegram, FakeUser
from tests.helpers import checkout_env
from tests.test_delivery import add_chats, queue_alert, until

pytestmark = pytest.mark.slow  # real processes at Telegram's real pace

ADA = FakeUser(111, "Ada", "ada", "en")
ADMIN = 999


async def start_bot(fake: FakeTelegram, database: Path, log: Path, **env: str) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=checkout_env(
                TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.url, DATABASE_PATH=str(database), **env
            ),
            cwd=database.parent,
            stdout=sink,
            stderr=sink,
        )


def read(database: Path, sql: str) -> list[tuple]:
    """A query on its own connection, as another process would make it."""
    with sqlite3.connect(database, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def recorded_sent(database: Path) -> set[int]:
    return {chat for (chat,) in read(database, "SELECT chat_id FROM deliveries WHERE status = 'sent'")}


def pending(database: Path) -> int:
    return read(database, "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0]


def alerts_sent(fake: FakeTelegram, chats: set[int]) -> Counter:
    return Counter(m.chat_id for m in fake.sent if m.chat_id in chats and m.method == "sendMessage")


def assert_no_token(log: Path, fake: FakeTelegram) -> None:
    secret = TOKEN.split(":")[1]
    assert secret not in log.read_text(errors="replace"), "the token leaked into the bot's log"
    assert not any(secret in (m.text or "") for m in fake.sent), "the token leaked into a message"


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


async def test_kill_9_mid_broadcast_three_times_loses_nothing_and_repeats_within_the_bound(fake, tmp_path):
    database, log = tmp_path / "bot.db", tmp_path / "bot.log"
    targets = set(range(1000, 1400))  # about 13 s at Telegram's 30 messages a second
    db = open_db(database)
    add_chats(db, sorted(targets))
    queue_alert(db, sorted(targets))
    db.close()

    repeated_bound = 0
    for kill in range(3):
        bot = await start_bot(fake, database, log)
        before = sum(alerts_sent(fake, targets).values())
        await until(lambda b=before: sum(alerts_sent(fake, targets).values()) >= b + 60, 60, "the broadcast to go on")
        bot.kill()  # SIGKILL: no clean-up of any kind
        assert await bot.wait() == -signal.SIGKILL
        assert read(database, "PRAGMA integrity_check") == [("ok",)], f"after kill {kill + 1}"
        at_telegram = set(alerts_sent(fake, targets))
        recorded = recorded_sent(database)
        assert recorded <= at_telegram  # never recorded as sent unless Telegram took it
        assert len(at_telegram - recorded) <= CONCURRENCY  # taken but not recorded: sent again later
        repeated_bound += CONCURRENCY

    bot = await start_bot(fake, database, log)
    try:
        await until(lambda: pending(database) == 0, 60, "the broadcast to finish")
    finally:
        assert await stop(bot) == 0
    sent = alerts_sent(fake, targets)
    assert set(sent) == targets  # every chat has its alert
    repeats = sum(sent.values()) - len(targets)
    assert repeats <= repeated_bound, f"{repeats} repeated messages after 3 kills"
    assert read(database, "SELECT status, count(*) FROM deliveries GROUP BY status") == [("sent", 400)]
    assert read(database, "PRAGMA integrity_check") == [("ok",)]
    assert_no_token(log, fake)


async def test_a_full_disk_pauses_sending_says_so_and_resumes_without_repeats(fake, tmp_path):
    database, log = tmp_path / "bot.db", tmp_path / "bot.log"
    targets = set(range(1000, 1300))
    db = open_db(database)
    add_chats(db, sorted(targets))
    queue_alert(db, sorted(targets))
    db.close()
    bot = await start_bot(fake, database, log, ADMIN_CHAT_IDS=str(ADMIN))
    try:
        await until(lambda: len(alerts_sent(fake, targets)) >= 30, 60, "the broadcast to get going")
        _, hard = resource.prlimit(bot.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(bot.pid, resource.RLIMIT_FSIZE, (4096, hard))  # no file may grow past 4 KiB
        [down] = await fake.wait_for(ADMIN, 1, timeout=60)
        assert "⚠️ The database cannot be written" in down.text and "alert sending is paused" in down.text
        fake.user_sends("/status", ADA)
        [status] = await fake.wait_for(ADA.id, 1, timeout=30)
        assert "The database cannot be written for" in status.text
        held = alerts_sent(fake, targets)
        assert len(held) < len(targets) and set(held.values()) == {1}

        resource.prlimit(bot.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, hard))  # space again
        back = (await fake.wait_for(ADMIN, 2, timeout=60))[-1]
        assert "takes writes again" in back.text
        await until(lambda: pending(database) == 0, 60, "the rest of the broadcast")
    finally:
        assert await stop(bot) == 0
    assert alerts_sent(fake, targets) == Counter(dict.fromkeys(targets, 1))  # all of them, none twice
    assert read(database, "SELECT status, count(*) FROM deliveries GROUP BY status") == [("sent", 300)]
    assert read(database, "PRAGMA integrity_check") == [("ok",)]
    lines = log.read_text().splitlines()
    assert sum("the database cannot be written" in line for line in lines) == 1, lines[-20:]
    assert "Traceback" not in "\n".join(lines)
    assert_no_token(log, fake)


class LiveExchange(FakeExchange):
    """The fake exchange on the wall clock: its tickers are stamped now, as a live exchange's are."""

    @property  # type: ignore[override]
    def now(self) -> datetime:
        return datetime.now(UTC)

    @now.setter
    def now(self, value: datetime) -> None:
        pass


def btc_quotes(database: Path) -> list[tuple[float, str]]:
    try:
        return read(database, "SELECT price, source FROM quotes WHERE symbol = 'BTC' ORDER BY id")
    except sqlite3.OperationalError:  # the bot has not created its tables yet
        return []


async def test_a_real_bot_fails_over_ignores_bad_prints_and_tells_a_real_crossing_once(fake, tmp_path):
    database, log = tmp_path / "bot.db", tmp_path / "bot.log"
    exchange = LiveExchange()
    await exchange.start()
    exchange.set_price("BTC", "90400.0")
    mirrors = {"binance": {"api_url": exchange.url}, "okx": {"api_url": exchange.url}}
    bot = await start_bot(
        fake, database, log, CRYPTO_EXCHANGES="binance,okx", CRYPTO_EXCHANGE_OPTIONS=json.dumps(mirrors),
        CRYPTO_POLL_SECONDS="5",
    )  # fmt: skip
    try:
        fake.user_sends("/start", ADA)
        await fake.wait_for(ADA.id, 1, timeout=30)
        await until(lambda: (90_400.0, "binance") in btc_quotes(database), 60, "a first price from Binance")

        for fault, times in (("429", 1), ("418", 1), ("503", 2), ("truncated", 2)):
            exchange.fail(BINANCE_TICKERS, fault, times)
        exchange.set_price("BTC", 0, "binance")  # and when it answers, a price of 0
        exchange.set_price("BTC", "90300.0", "okx")
        await until(lambda: btc_quotes(database).count((90_300.0, "okx")) >= 2, 90, "prices from OKX")
        assert all(price > 0 for price, _ in btc_quotes(database))  # the 0 was never a price
        fake.user_sends("/status", ADA)
        status = (await fake.wait_for(ADA.id, 2, timeout=30))[-1].text
        assert "❌ binance: failing for" in status and "✅ okx: last success" in status
        assert "• BTC: last update" not in status  # BTC is fresh (the equities, offline here, are not)

        exchange.set_price("BTC", "89500.0")  # the market really goes below 90,000
        told = (await fake.wait_for(ADA.id, 3, timeout=60))[-1].text
        assert "BTC broke below 90,000" in told and "89,500" in told
        seen = len(btc_quotes(database))
        await until(lambda: len(btc_quotes(database)) >= seen + 2, 60, "two more polls")
    finally:
        assert await stop(bot) == 0
        await exchange.stop()
    alerts = [m.text for m in fake.messages_to(ADA.id) if m.text.startswith("<b>🔻") or m.text.startswith("<b>🔺")]
    assert len(alerts) == 1, alerts  # told once; nothing from the failures or the bad print
    assert len(fake.messages_to(ADA.id)) == 3  # /start, /status, the alert
    assert "Traceback" not in log.read_text()
    assert_no_token(log, fake)
