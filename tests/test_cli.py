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
            if all(f"❌ {name}: failing" in status for name in sources):
                break
            await asyncio.sleep(0.5)
        assert all(f"❌ {name}: failing" in status for name in sources), status
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
