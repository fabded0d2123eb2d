"""One ccxt exchange, for public market data: making it, naming its pairs, reading its answers.

:class:`~bot.sources.crypto.CryptoSource` uses these for every exchange it fails over
between; nothing here retries or fails over.

* :func:`make_exchange` -- a ``ccxt.async_support`` exchange (spot markets only where
  markets load per type; ``api_url`` points it at another server, as tests do).
* :func:`pick_pair` -- the bot's ``BTC`` as the exchange's ``BTC/USDT`` or ``BTC/USD``.
* :func:`fetch_tickers`, :func:`fetch_bars` -- one request each, the answer checked.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from ccxt.async_support.base.exchange import Exchange

from bot.domain import Bar, Interval
from bot.logs import register_secret
from bot.sources.ccxt_errors import reject_broken_json
from bot.sources.validate import valid_ohlc

log = logging.getLogger(__name__)

DEFAULT_QUOTES = ("USDT", "USD", "USDC")
QUOTE_PREFERENCE: dict[str, tuple[str, ...]] = {
    "binance": ("USDT", "USDC", "FDUSD"),
    "okx": ("USDT", "USDC", "USD"),
    "kraken": ("USD", "USDT", "USDC"),
    "coinbase": ("USD", "USDC", "USDT"),
}
# Candles per request: each exchange's documented maximum (OKX history-candles: 100).
PAGE_LIMIT = {"binance": 1000, "okx": 100, "kraken": 720, "coinbase": 300}
DEFAULT_PAGE_LIMIT = 100
INTERVAL_MS: dict[str, int] = {"1m": 60_000, "1h": 3_600_000, "1d": 86_400_000}
# Exchanges whose markets load per type: ask for spot only (else futures and options too).
SPOT_ONLY_MARKETS = {"binance", "okx"}
_HOST = re.compile(r"^https?://[^/]+")
_WS_HOST = re.compile(r"^wss?://[^/]+")


def pick_pair(symbol: str, markets: Mapping[str, Mapping[str, Any]], quotes: Sequence[str]) -> str | None:
    """The active spot pair of ``symbol`` with the most preferred quote currency, or None."""
    by_quote = {
        market.get("quote"): pair
        for pair, market in markets.items()
        if market.get("base") == symbol and market.get("spot") and market.get("active") is not False
    }
    return next((by_quote[quote] for quote in quotes if quote in by_quote), None)


def point_api_at(urls: Any, base: str, host: re.Pattern[str] = _HOST) -> Any:
    """ccxt's ``urls['api']`` with the scheme and host of every URL replaced by ``base``.

    Binance's ``public`` becomes ``base + '/api/v3'``, OKX's ``rest`` becomes ``base``.
    """
    if isinstance(urls, str):
        return host.sub(lambda _: base.rstrip("/"), urls)
    if isinstance(urls, Mapping):
        return {key: point_api_at(value, base, host) for key, value in urls.items()}
    return urls


def streams(exchange_id: str) -> bool:
    """Whether ccxt's websocket interface (``ccxt.pro``) has this exchange."""
    return exchange_id in ccxt_pro.exchanges


def utc_from_ms(value: Any) -> datetime | None:
    """A millisecond epoch timestamp as an aware UTC datetime, or None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e14:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def finite(value: Any) -> float | None:
    """``value`` as a finite float (any sign), or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and not isinstance(value, bool) else None


def parse_bar(row: Any, symbol: str, interval: Interval, source: str) -> Bar | None:
    """One ccxt OHLCV row as a :class:`Bar`, or None if it is not a possible bar on the interval's grid."""
    if not isinstance(row, (list, tuple)) or len(row) < 5:
        return None
    ts = row[0]
    if isinstance(ts, bool) or not isinstance(ts, int) or ts <= 0 or ts % INTERVAL_MS[interval]:
        return None  # daily bars must start at 00:00 UTC, hourly ones on the hour
    prices = valid_ohlc(*row[1:5])
    if prices is None:
        return None
    volume = finite(row[5]) if len(row) > 5 else None
    start = utc_from_ms(ts)
    if start is None:
        return None
    return Bar(symbol, interval, start, *prices, volume if volume is None or volume >= 0 else None, source)


async def fetch_tickers(exchange: Exchange, pairs: list[str]) -> Mapping[str, Any]:
    """One batched ``fetch_tickers``; an answer without any of ``pairs`` is malformed."""
    tickers = await exchange.fetch_tickers(pairs)
    if not isinstance(tickers, Mapping) or not any(pair in tickers for pair in pairs):
        raise ccxt.BadResponse(f"{exchange.id} answered without the tickers asked for")
    return tickers


async def fetch_bars(
    exchange: Exchange, pair: str, symbol: str, interval: Interval, since: int, limit: int
) -> list[Bar]:
    """One ``fetch_ohlcv`` page as valid bars; invalid rows are dropped, a page of nothing else is malformed."""
    rows = await exchange.fetch_ohlcv(pair, interval, since=since, limit=limit)
    bars = [bar for row in rows or () if (bar := parse_bar(row, symbol, interval, exchange.id))]
    if rows and not bars:
        raise ccxt.BadResponse(f"{exchange.id} answered with no valid {interval} candle")
    if len(bars) < len(rows or ()):
        log.warning(
            "%s: dropped %d of %d %s %s candles (not a valid bar)",
            exchange.id,
            len(rows) - len(bars),
            len(rows),
            pair,
            interval,
        )
    return bars


def make_exchange(
    exchange_id: str,
    api_url: str | None,
    timeout: float,
    rate_limit_ms: float | None,
    options: Mapping[str, Any] | None = None,
    *,
    ws_url: str | None = None,
    streaming: bool = False,
) -> Exchange:
    """A ccxt exchange object configured for public market data; ``options`` (ccxt's own, e.g.
    ``httpsProxy``, ``wssProxy`` or ``hostname``) come on top. A proxy's URL, which may hold a
    password, is masked in every log line. ``streaming``: the ``ccxt.pro`` class (websockets as
    well as REST), its streams at ``ws_url`` if given."""
    if exchange_id not in (ccxt_pro.exchanges if streaming else ccxt_async.exchanges):
        raise ValueError(f"unknown ccxt exchange {exchange_id!r}" + (" for streaming" if streaming else ""))
    config: dict[str, Any] = {
        "timeout": max(1, int(timeout * 1000)),
        # ccxt's leaky bucket stays on: a poll is one request per exchange and passes at
        # once, while a long backfill is paced at the exchange's documented weights (OKX
        # allows 20 candle pages per 2 s). 429/418 are still handled by the cooldown.
        "enableRateLimit": rate_limit_ms != 0,
    }
    if rate_limit_ms:
        config["rateLimit"] = rate_limit_ms
    if exchange_id in SPOT_ONLY_MARKETS:
        config["options"] = {"fetchMarkets": {"types": ["spot"]}}
    for key, value in (options or {}).items():
        if key == "options" and isinstance(value, Mapping):
            config["options"] = {**config.get("options", {}), **value}
        else:
            config[key] = value
        if "proxy" in key.lower() and isinstance(value, str):
            register_secret(value)
    if api_url and api_url.startswith("http://"):
        config["timeout_on_exit"] = 0  # ccxt waits 250 ms on close to drain TLS; plain HTTP has none
    exchange: Exchange = getattr(ccxt_pro if streaming else ccxt_async, exchange_id)(config)
    urls = exchange.urls["api"]
    if api_url:
        rest = {k: v for k, v in urls.items() if k != "ws"} if isinstance(urls, Mapping) else urls
        urls = {**urls, **point_api_at(rest, api_url)} if isinstance(urls, Mapping) else point_api_at(rest, api_url)
    if ws_url and isinstance(urls, Mapping) and "ws" in urls:
        urls = {**urls, "ws": point_api_at(urls["ws"], ws_url, _WS_HOST)}
    exchange.urls["api"] = urls
    reject_broken_json(exchange)
    return exchange
