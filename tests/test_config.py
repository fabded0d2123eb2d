"""Settings: typed, documented, and one clear line per bad variable."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_levels

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_sane():
    s = load_settings()
    assert s.levels == {"BTC": (90000.0, 92000.0)}
    assert s.crypto_exchanges == ("binance", "okx", "kraken", "coinbase")
    assert s.equity_watchlist == ("NVDA", "AMD", "ORCL", "MSFT", "AVGO", "META", "TSM", "QQQ")
    assert s.corr_windows == (21, 63)
    assert s.database_path == Path("data/bot.db")


def test_environment_overrides_and_lists(monkeypatch):
    monkeypatch.setenv("EQUITY_WATCHLIST", " nvda, orcl ,NVDA ")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1, -100200")
    monkeypatch.setenv("DEFAULT_LEVELS", "BTC:92_000,90000;eth:3000")
    s = load_settings()
    assert s.equity_watchlist == ("NVDA", "ORCL")
    assert s.admin_chat_ids == (1, -100200)
    assert s.levels == {"BTC": (90000.0, 92000.0), "ETH": (3000.0,)}


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CRYPTO_POLL_SECONDS=45\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().crypto_poll_seconds == 45


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CRYPTO_POLL_SECONDS", "fast", "CRYPTO_POLL_SECONDS"),
        ("CRYPTO_POLL_SECONDS", "1", "greater than or equal to 5"),
        ("LOG_LEVEL", "chatty", "expected DEBUG, INFO, WARNING or ERROR"),
        ("DEFAULT_LEVELS", "BTC90000", "expected SYMBOL:LEVEL,LEVEL"),
        ("DEFAULT_LEVELS", "BTC:-5", "positive prices"),
        ("CORR_WINDOWS", "2,63", "between 5 and 260"),
        ("EQUITY_WATCHLIST", " , ", "at least one entry"),
        ("TELEGRAM_API_BASE_URL", "not a url", "TELEGRAM_API_BASE_URL"),
        ("ADMIN_CHAT_IDS", "me", "ADMIN_CHAT_IDS"),
        ("WEBHOOK_SECRET", "two words", "letters, digits, _ and -"),
        ("WEBHOOK_URL", "bot.example.com/hook", "WEBHOOK_URL"),
        ("CRYPTO_EXCHANGE_OPTIONS", "binance=proxy", "expected JSON, e.g. {"),
        ("CRYPTO_EXCHANGE_OPTIONS", '{"binance": "proxy"}', "valid dictionary"),
        ("CRYPTO_EXCHANGE_OPTIONS", '{"binance": {"api_url": "api.binance.us"}}', "must be an http(s) URL"),
        ("CRYPTO_EXCHANGE_OPTIONS", '{"bybit": {}}', "bybit is not in CRYPTO_EXCHANGES (binance,okx,kraken,coinbase)"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert variable in message and expected in message
    assert "\n" not in message


def test_bad_token_is_never_echoed(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:secret/with-slash")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "secret" not in str(info.value) and "TELEGRAM_BOT_TOKEN" in str(info.value)


def test_missing_token_is_only_an_error_for_the_live_bot():
    s = load_settings()
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        s.require_token()


def test_api_base_url_derives_ptb_urls():
    s = load_settings(telegram_api_base_url="http://127.0.0.1:8081/")
    assert s.api_base == "http://127.0.0.1:8081"


def test_parse_levels_sorts_and_dedups():
    assert parse_levels("btc:92000,90000,92000") == {"BTC": (90000.0, 92000.0)}


def test_env_example_copied_as_it_is_gives_the_defaults(tmp_path, monkeypatch):
    """A user's first step is ``cp .env.example .env``: its empty values mean "the default"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    assert load_settings() == load_settings(_env_file=None)


def test_every_setting_is_documented_in_env_example_with_its_default():
    example = (ROOT / ".env.example").read_text()
    documented = dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", example, re.M))
    defaults = load_settings()
    for name in Settings.model_fields:
        assert name.upper() in documented, f"{name.upper()} missing from .env.example"
        default = getattr(defaults, name)
        if default is None or name == "telegram_bot_token":
            continue
        shown = documented[name.upper()].strip()
        if isinstance(default, bool):
            assert shown == str(default).lower(), name
        elif isinstance(default, dict):
            assert json.loads(shown) == default, name
        elif isinstance(default, tuple):
            assert shown == ",".join(map(str, default)), name
        elif isinstance(default, float):
            assert float(shown) == default, name
        else:
            assert shown == str(default), name
