"""Shared fixtures. Importing this module forbids the network (see tests/netguard.py)."""

from __future__ import annotations

import os

import pytest

from tests import netguard, secretguard

netguard.install(os.environ)
secretguard.install()
# Settings are read from the environment: keep the developer's own out of the tests.
for _name in list(os.environ):
    if _name.startswith(("TELEGRAM_", "ADMIN_CHAT", "DATABASE_PATH")):
        del os.environ[_name]
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _no_outside_network():
    """Fail the test that tried to leave the machine, even if a library swallowed the error."""
    before = len(netguard.ATTEMPTS)
    yield
    attempts = netguard.ATTEMPTS[before:]
    if attempts:
        pytest.fail("test tried to reach the network outside loopback: " + "; ".join(attempts[:5]))


@pytest.fixture(autouse=True)
def _no_token_leaks():
    """Fail the test during which the token reached a log line or a message (tests/secretguard.py)."""
    before = len(secretguard.LEAKS)
    yield
    leaks = secretguard.LEAKS[before:]
    if leaks:
        pytest.fail("the bot token leaked: " + "; ".join(leaks[:3]))


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path, monkeypatch):
    """Run each test in its own directory so a developer's .env is never read."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def fake():
    """A fake Telegram Bot API server on 127.0.0.1 (a test module may define its own ``fake``)."""
    from tests.fakes.telegram import FakeTelegram

    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def recent_data(tmp_path_factory):
    """The shipped replay data from September 2025 on (see tests.helpers.recent_replay_data)."""
    from tests.helpers import recent_replay_data

    return recent_replay_data(tmp_path_factory.mktemp("recent"))
