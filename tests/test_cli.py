"""`python -m bot` as a user runs it: help, configuration errors, and the live bot on a local Bot API."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.telegram import TOKEN, FakeTelegram, FakeUser
from tests.helpers import ROOT, checkout_env

ADA = FakeUser(111, "Ada", "ada", "en")


pytestmark = pytest.mark.slow  # every test here starts the bot in a subprocess


def _env(**extra: str) -> dict[str, str]:
    return checkout_env(**extra)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=_env(**env), timeout=60
    )


def test_the_subprocess_runs_this_checkout():
    result = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert Path(result.stdout.strip()).resolve().is_relative_to(ROOT)


def test_help_lists_the_working_subcommands():
    result = _run("--help")
    assert result.returncode == 0
    assert "run" in result.stdout and "live Telegram bot" in result.stdout


def test_run_without_token_exits_2_with_one_clear_line():
    result = _run("run")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_bad_setting_exits_2_and_never_prints_the_token():
    result = _run("run", TELEGRAM_BOT_TOKEN=TOKEN, CRYPTO_POLL_SECONDS="often")
    assert result.returncode == 2
    assert "CRYPTO_POLL_SECONDS" in result.stderr
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout


async def test_live_bot_serves_start_help_status_against_a_local_bot_api(tmp_path):
    fake = FakeTelegram()
    await fake.start()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=fake.url,
            DATABASE_PATH=str(tmp_path / "bot.db"),
            LOG_LEVEL="DEBUG",
        ),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.user_sends("/start", ADA)
        fake.user_sends("/help", ADA)
        fake.user_sends("/status", ADA)
        replies = await fake.wait_for(ADA.id, 3, timeout=30)
        assert "Subscribed" in replies[0].text
        assert "/status" in replies[1].text
        assert "1 subscribed chat" in replies[2].text
        # No internet here: every source must be reported unreachable, none may alert.
        sources = ("binance", "okx", "kraken", "coinbase", "yfinance")
        for attempt in range(40):
            fake.user_sends("/status", ADA)
            status = (await fake.wait_for(ADA.id, 4 + attempt, timeout=30))[-1].text
            streams = ("❌ okx stream: down", "❌ yahoo stream: down for")
            if all(f"❌ {name}: failing" in status for name in sources) and all(s in status for s in streams):
                break
            await asyncio.sleep(0.5)
        assert all(f"❌ {name}: failing" in status for name in sources), status
        assert "❌ binance stream: down" in status and "❌ okx stream: down" in status, "streams tried in turn"
        assert "❌ yahoo stream: down" in status and "(yahoo: unreachable)" in status
        assert "• BTC: last update never" in status and "• NVDA: last update never" in status
        assert len(fake.sent) == 3 + attempt + 1, "only command replies: no alert on missing data"
        health = await asyncio.to_thread(_run, "healthcheck", DATABASE_PATH=str(tmp_path / "bot.db"))
        assert health.returncode == 0, health.stderr
        assert "alive" in health.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        await fake.stop()
    assert process.returncode == 0
    logs = err.decode()
    assert "is up" in logs
    assert "Traceback" not in logs, "an unreachable source must not print a traceback per poll"
    assert TOKEN.split(":")[1] not in logs + out.decode(), "the token leaked into the logs"
    assert (tmp_path / "bot.db").exists()


def test_healthcheck_fails_when_no_bot_is_running(tmp_path):
    result = _run("healthcheck", DATABASE_PATH=str(tmp_path / "bot.db"))
    assert result.returncode == 1
    assert "no heartbeat" in result.stderr


async def _bot_process(fake: FakeTelegram, database: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.url, DATABASE_PATH=str(database), **env),
        cwd=database.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_token_telegram_rejects_exits_2_with_one_line_and_never_prints_it(tmp_path):
    fake = FakeTelegram(token="999:another-bots-token")  # our TOKEN gets 401 Unauthorized
    await fake.start()
    try:
        process = await _bot_process(fake, tmp_path / "bot.db", LOG_LEVEL="DEBUG")
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await fake.stop()
    assert process.returncode == 2
    logs = err.decode() + out.decode()
    assert (
        logs.strip().splitlines()[-1]
        == "error: Telegram rejected TELEGRAM_BOT_TOKEN: check the token @BotFather gave you"
    )
    assert "Traceback" not in logs and TOKEN.split(":")[1] not in logs


async def test_a_second_bot_on_the_same_database_refuses_to_start_and_the_first_goes_on(tmp_path):
    fake = FakeTelegram()
    await fake.start()
    database = tmp_path / "bot.db"
    first = await _bot_process(fake, database)
    try:
        fake.user_sends("/start", ADA)
        await fake.wait_for(ADA.id, 1, timeout=30)  # the first bot serves
        second = await asyncio.to_thread(
            _run, "run", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.url, DATABASE_PATH=str(database)
        )
        assert second.returncode == 2
        assert second.stderr.strip() == (
            f"error: another bot is already running on {database} (pid {first.pid}): stop it first, "
            "or give this one its own DATABASE_PATH"
        )
        fake.user_sends("/help", ADA)
        assert "/status" in (await fake.wait_for(ADA.id, 2, timeout=30))[-1].text  # the first one still answers
    finally:
        first.kill()  # kill -9: the lock goes with the process
        await first.wait()
    try:
        third = await _bot_process(fake, database)
        before = len(fake.messages_to(ADA.id))
        fake.user_sends("/status", ADA)
        # (after a kill -9 the last update may be answered again: Telegram had not been told it was read)
        for count in range(before + 1, before + 3):
            replies = await fake.wait_for(ADA.id, count, timeout=30)
            if "subscribed chat" in replies[-1].text:
                break
        assert "1 subscribed chat" in replies[-1].text  # the restarted bot serves the same database
    finally:
        third.send_signal(signal.SIGTERM)
        await asyncio.wait_for(third.communicate(), 30)
        await fake.stop()
    assert third.returncode == 0


@pytest.mark.parametrize(
    ("setup", "env", "message"),
    [
        (lambda db: db.write_bytes(b"not a database " * 512), {}, "is not a usable SQLite database"),
        (lambda db: db.mkdir(), {}, "is a folder, not a file"),
        (lambda db: None, {"CRYPTO_EXCHANGES": "binance,nosuchexchange"}, "unknown ccxt exchange 'nosuchexchange'"),
    ],
    ids=["corrupt file", "a folder", "unknown exchange"],
)
def test_a_start_up_problem_exits_2_with_one_line_naming_it(tmp_path, setup, env, message):
    database = tmp_path / "bot.db"
    setup(database)
    result = _run("run", TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_PATH=str(database), **env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout
