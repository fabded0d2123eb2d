"""Log output as an operator's collector reads it: text or one JSON object a line, secrets masked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import register_secret, setup_logging

SECRET = "424242:json-log-secret-value"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_json_lines_carry_level_logger_message_and_exception_with_secrets_masked(restore_logging):
    register_secret(SECRET)
    out = io.StringIO()
    setup_logging("INFO", out, json_lines=True)
    log = logging.getLogger("bot.example")
    log.info("polled %d sources", 3)
    log.debug("not at INFO")
    try:
        raise RuntimeError(f"request to /bot{SECRET}/getMe failed")
    except RuntimeError:
        log.exception("Telegram said „no“")
    lines = out.getvalue().splitlines()
    first, second = (json.loads(line) for line in lines)  # exactly two lines, each one JSON object
    assert first["level"] == "INFO" and first["logger"] == "bot.example" and first["message"] == "polled 3 sources"
    assert second["message"] == "Telegram said „no“" and "RuntimeError" in second["exception"]
    assert first["time"].endswith("+00:00")
    assert SECRET.split(":")[1] not in out.getvalue() and "***" in second["exception"]


def test_text_is_the_default_and_an_unknown_format_is_refused(restore_logging, monkeypatch):
    assert load_settings().log_format == "text"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings()
