"""Typed settings, read once from the environment and ``.env``.

Every setting is documented, with its default, in ``.env.example``. A bad value
stops the bot with exit status 2 and one line per bad variable
(see :func:`load_settings`); the bot token is never printed.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

if TYPE_CHECKING:
    from bot.values import Threshold

DEFAULT_WATCHLIST = ("NVDA", "AMD", "ORCL", "MSFT", "AVGO", "META", "TSM", "QQQ")
DEFAULT_EXCHANGES = ("binance", "okx", "kraken", "coinbase")
SHIPPED_REPLAY_DATA = Path(__file__).parent / "data" / "market_2025"
DEFAULT_REPLAY_START = date(2025, 12, 1)  # replays alert from here; the data before is history

CommaList = Annotated[tuple[str, ...], NoDecode]


class ConfigError(Exception):
    """Raised with a message that is safe to print: it names variables, never secrets."""


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def parse_levels(value: str) -> dict[str, tuple[float, ...]]:
    """Parse ``"BTC:90000,92000;ETH:3000"`` into ``{"BTC": (90000.0, 92000.0), "ETH": (3000.0,)}``."""
    levels: dict[str, tuple[float, ...]] = {}
    for group in filter(None, (g.strip() for g in value.split(";"))):
        symbol, sep, numbers = group.partition(":")
        if not sep or not symbol.strip():
            raise ValueError(f"expected SYMBOL:LEVEL,LEVEL (got {group!r})")
        try:
            prices = tuple(float(n.replace("_", "")) for n in numbers.split(",") if n.strip())
        except ValueError:
            raise ValueError(f"levels for {symbol.strip()} must be numbers (got {numbers!r})") from None
        if not prices or any(not 0 < p < 1e9 for p in prices):
            raise ValueError(f"levels for {symbol.strip()} must be positive prices")
        levels[symbol.strip().upper()] = tuple(sorted(set(prices)))
    return levels


class Settings(BaseSettings):
    """All configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, env_ignore_empty=True
    )

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: AnyHttpUrl | None = None
    admin_chat_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Webhook mode (instead of long polling): Telegram posts updates to WEBHOOK_URL, which a
    # reverse proxy with TLS forwards to WEBHOOK_LISTEN:WEBHOOK_PORT (the same path).
    webhook_url: AnyHttpUrl | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None  # Telegram's secret token; unset: a new random one each start
    # Telegram's paid broadcasts: alerts go out at up to 1,000 messages a second instead of 30,
    # for 0.1 Telegram Stars each, taken from the bot's balance. Off unless turned on.
    paid_broadcast: bool = False

    # Storage and logging
    database_path: Path = Path("data/bot.db")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    alert_max_age_hours: float = Field(3.0, gt=0, le=168)  # older when it could be sent: only listed
    metrics_port: int | None = Field(None, ge=0, le=65535)  # Prometheus /metrics; unset: off; 0: any free port
    metrics_host: str = "127.0.0.1"

    # Crypto (ccxt)
    crypto_exchanges: CommaList = DEFAULT_EXCHANGES
    crypto_symbols: CommaList = ("BTC",)
    crypto_poll_seconds: float = Field(30.0, ge=5, le=3600)
    crypto_stream: bool = True  # websocket prices where the exchange streams; the poll covers its outages
    crypto_stream_silent_seconds: float = Field(20.0, ge=2, le=600)  # no message this long: down
    # A move counts only as far as two exchanges show it (one venue's wick is not an alert):
    # the first two of CRYPTO_EXCHANGES that answer each stream or are polled, and must agree.
    crypto_confirm: bool = False
    # Per exchange: ccxt options (a proxy, another hostname, ...), "api_url", a server that
    # takes the place of the exchange's API host, and "ws_url", of its stream host (a mirror;
    # the tests' fake exchange).
    crypto_exchange_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Equities (yfinance)
    equity_watchlist: CommaList = DEFAULT_WATCHLIST
    equity_poll_seconds: float = Field(60.0, ge=15, le=3600)
    # Every Yahoo request through this proxy (where Yahoo is blocked): http://, https://, socks5://
    yahoo_proxy: str | None = None
    equity_extended_hours: bool = True  # poll pre-market (04:00 NY) and after-hours (to 20:00) prices too
    equity_stream: bool = True  # Yahoo's streamed prices, pre-market and after-hours too; polls fill in
    yahoo_stream_url: str = "wss://streamer.finance.yahoo.com/?version=2"  # a mirror; the tests' fake
    earnings_refresh_hours: float = Field(24.0, ge=1, le=168)

    # Data quality
    stale_after_intervals: float = Field(3.0, ge=1, le=100)
    max_price_jump_pct: float = Field(20.0, gt=0, le=100)

    # Alert defaults (each chat can change its own)
    default_levels: str = "BTC:90000,92000"
    level_hysteresis_pct: float = Field(0.25, ge=0, le=5)
    level_chop_hours: float = Field(4.0, gt=0, le=48)
    level_chop_quiet_hours: float = Field(24.0, gt=0, le=168)
    level_chop_exit_pct: float = Field(1.0, gt=0, le=20)
    corr_windows: Annotated[tuple[int, ...], NoDecode] = (21, 63)
    corr_change_z: float = Field(3.1, ge=2, le=6)
    shock_pct: float = Field(7.0, gt=0, le=100)
    move: str = "3σ"  # a large move: "5%" or "3σ" (of the name's 60-session daily returns)
    move_pct: float = Field(5.0, gt=0, le=100)  # the % used while a name's σ is not known yet
    market_index: str = "QQQ"  # the index a market-wide move is judged by, beside the watched names

    @field_validator("crypto_exchanges", "crypto_symbols", "equity_watchlist", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        value = _split(value)
        if not value:
            raise ValueError("expected a comma-separated list with at least one entry")
        return value

    @field_validator("crypto_symbols", "equity_watchlist")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.upper() for v in value))

    @field_validator("crypto_exchanges")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.lower() for v in value))

    @field_validator("yahoo_proxy")
    @classmethod
    def _yahoo_proxy(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"(https?|socks5h?|socks4)://[^/\s]+", value):
            raise ValueError("must be a proxy URL, e.g. http://127.0.0.1:3128 or socks5://127.0.0.1:1080")
        return value

    @field_validator("yahoo_stream_url")
    @classmethod
    def _yahoo_stream_url(cls, value: str) -> str:
        if not re.match(r"wss?://[^/\s]+", value):
            raise ValueError("must be a ws(s) URL, e.g. wss://streamer.finance.yahoo.com/?version=2")
        return value

    @field_validator("crypto_exchange_options")
    @classmethod
    def _exchange_options(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        options = {name.strip().lower(): dict(chosen) for name, chosen in value.items()}
        for name, chosen in options.items():
            url = chosen.get("api_url")
            if url is not None and not (isinstance(url, str) and re.match(r"https?://[^/\s]+", url)):
                raise ValueError(f"{name}: api_url must be an http(s) URL, e.g. https://api.binance.us")
            url = chosen.get("ws_url")
            if url is not None and not (isinstance(url, str) and re.match(r"wss?://[^/\s]+", url)):
                raise ValueError(f"{name}: ws_url must be a ws(s) URL, e.g. wss://stream.binance.us:9443")
        return options

    @model_validator(mode="after")
    def _options_for_known_exchanges(self) -> Settings:
        if unknown := sorted(set(self.crypto_exchange_options) - set(self.crypto_exchanges)):
            raise ValueError(
                f"CRYPTO_EXCHANGE_OPTIONS: {', '.join(unknown)} is not in CRYPTO_EXCHANGES "
                f"({','.join(self.crypto_exchanges)})"
            )
        if self.crypto_confirm and len(self.crypto_exchanges) < 2:
            raise ValueError(
                "CRYPTO_CONFIRM needs at least two exchanges in CRYPTO_EXCHANGES to confirm a move on, "
                "e.g. CRYPTO_EXCHANGES=binance,okx"
            )
        return self

    @field_validator("admin_chat_ids", "corr_windows", mode="before")
    @classmethod
    def _int_list(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("corr_windows")
    @classmethod
    def _windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 5 <= w <= 260 for w in value):
            raise ValueError("expected trading-day windows between 5 and 260, e.g. 21,63")
        return tuple(sorted(set(value)))

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in logging.getLevelNamesMapping():
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return name

    @field_validator("move")
    @classmethod
    def _move(cls, value: str) -> str:
        from bot.values import BadArgument, threshold

        try:
            return str(threshold(value))
        except BadArgument as error:
            raise ValueError(error.message_en()) from None

    @field_validator("market_index")
    @classmethod
    def _index(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("default_levels")
    @classmethod
    def _levels(cls, value: str) -> str:
        parse_levels(value)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("expected 1-256 characters: letters, digits, _ and - (Telegram's rule)")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if "/" in token or any(c.isspace() for c in token):
            raise ValueError("expected the token @BotFather gave you, like 123456:ABC-DEF...")
        return SecretStr(token)

    @property
    def levels(self) -> dict[str, tuple[float, ...]]:
        return parse_levels(self.default_levels)

    @property
    def move_threshold(self) -> Threshold:
        from bot.values import threshold

        return threshold(self.move)

    @property
    def api_base(self) -> str | None:
        """Base of a self-hosted Bot API server, without a trailing slash."""
        return str(self.telegram_api_base_url).rstrip("/") if self.telegram_api_base_url else None

    def require_token(self) -> str:
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: the live bot needs the token from @BotFather "
                "(put it in .env or the environment; `python -m bot replay` needs none)"
            )
        return self.telegram_bot_token.get_secret_value()


def _describe(error: ErrorDetails) -> str:
    variable = "_".join(str(p) for p in error["loc"] if isinstance(p, str)).upper()
    message = error["msg"].removeprefix("Value error, ")
    return f"{variable}: {message}" if variable else message  # a check across settings names them itself


def load_settings(**overrides: Any) -> Settings:
    """Read settings once; raise :class:`ConfigError` naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = sorted({_describe(e) for e in exc.errors(include_input=False, include_url=False)})
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
    except SettingsError as exc:  # a value that should be JSON and is not
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "a setting"
        raise ConfigError(
            f"invalid configuration: {field.upper()}: expected JSON, e.g. "
            '{"binance": {"api_url": "https://api.binance.us"}}'
        ) from None
