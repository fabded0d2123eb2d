"""Streamed equity prices: Yahoo's streaming quotes, pre-market and after-hours included.

Usage::

    stream = YahooStream(collector.equity_symbols, on_quotes=collector.take_streamed,
                         guard=equities.guard, health=health, clock=clock)
    task = asyncio.create_task(stream.run())   # until cancelled
    stream.covered(now)                        # the names with a streamed price lately

* Yahoo's streamer (``wss://streamer.finance.yahoo.com/?version=2``) takes ``{"subscribe":
  [...]}`` and sends each trade's price as a base64 protobuf ``PricingData`` message, decoded
  with the definitions yfinance ships (``yfinance.pricing_pb2``); the subscription is repeated
  every 15 s, as Yahoo expects (and so names added to the watchlist join).
* Each message's price, pre-market (04:00–09:30 New York) and after-hours (16:00–20:00) too,
  goes to ``on_quotes``, which stores it and hands it to the engine, as a poll does.
* yfinance's own ``AsyncWebSocket.listen`` is not used: after a dropped connection it retries
  on the same dead socket forever (its ``_connect`` only connects while no socket is kept),
  logging each failure. This module connects with ``websockets`` (yfinance's dependency) and
  reconnects after a jittered backoff, 1 s growing to a minute while it keeps failing.
* A name counts as covered while its last streamed price is under ``silent_after`` seconds
  old; the equity poll fetches only the others (a quiet name, or all of them while the
  stream is down), so a silent stream never leaves a name without prices.
* Prices come as 32-bit floats: each is rounded to the decimals Yahoo quotes it in.
* A message that repeats or predates the last one of its name is dropped; every price passes
  the equity source's jump guard.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, NoReturn

from google.protobuf.message import DecodeError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from yfinance.pricing_pb2 import PricingData

from bot.backoff import Backoff
from bot.clock import Clock
from bot.domain import Quote
from bot.health import HealthRegistry
from bot.sources.ccxt_exchange import utc_from_ms
from bot.sources.validate import JumpGuard
from bot.sources.yahoo import SOURCE

log = logging.getLogger(__name__)

YAHOO_STREAM_URL = "wss://streamer.finance.yahoo.com/?version=2"
SILENT_AFTER = 60.0  # a name without a streamed price this long is polled
RESUBSCRIBE = 15.0  # Yahoo drops a subscription that is not repeated
NAME = "yahoo"  # the stream's name in /status


class YahooStream:
    """Every price Yahoo streams for the watchlist, reconnecting while it cannot."""

    def __init__(
        self,
        symbols: Callable[[], Sequence[str]],
        *,
        on_quotes: Callable[[list[Quote]], object],
        guard: JumpGuard,
        health: HealthRegistry,
        clock: Clock,
        url: str = YAHOO_STREAM_URL,
        proxy: str | None = None,
        silent_after: float = SILENT_AFTER,
        resubscribe: float = RESUBSCRIBE,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``symbols`` is asked at each subscription (the watchlist changes as chats add names);
        ``proxy`` as ``YAHOO_PROXY`` (None: the environment's proxy variables, if any)."""
        self._symbols = symbols
        self._on_quotes = on_quotes
        self._guard = guard
        self._health = health
        self._clock = clock
        self.url = url
        self._proxy: str | Literal[True] = proxy or True
        self.silent_after = silent_after
        self._resubscribe = resubscribe
        self._backoff = Backoff(backoff_base, backoff_cap, rng)
        self._sleep = sleep
        self._last: dict[str, datetime] = {}  # each name's newest streamed price time
        self._seen: dict[str, datetime] = {}  # and when it arrived
        self.messages = 0

    def covered(self, now: datetime) -> set[str]:
        """The names whose streamed price arrived less than ``silent_after`` ago."""
        if self._health.stream(NAME).state != "streaming":
            return set()
        horizon = now - timedelta(seconds=self.silent_after)
        return {symbol for symbol, seen in self._seen.items() if seen > horizon}

    async def run(self) -> None:
        """Stream until cancelled, reconnecting with backoff."""
        while True:
            try:
                await self._stream()
            except (OSError, TimeoutError, WebSocketException) as exc:
                error = _reason(exc)
                log.debug("stream: Yahoo: %r", exc)
            except Exception as exc:  # a stream must outlive a surprise; say it loudly
                log.exception("stream: Yahoo failed unexpectedly")
                error = f"{type(exc).__name__}: {exc}"
            delivered = self._health.stream(NAME).state == "streaming"
            self._down(error)
            if delivered:
                self._backoff.reset()
            delay = self._backoff.next_delay()
            log.info("stream: reconnecting to Yahoo in %.1fs", delay)
            await self._sleep(delay)

    async def _stream(self) -> NoReturn:
        self._health.stream(NAME).connecting()
        async with connect(self.url, proxy=self._proxy, open_timeout=10) as ws:
            keeper = asyncio.get_running_loop().create_task(self._keep_subscribed(ws))
            try:
                async for message in ws:
                    await self._take(message)
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketException, OSError):
                    await keeper
        raise ConnectionError("Yahoo closed the stream")

    async def _keep_subscribed(self, ws: ClientConnection) -> None:
        while True:
            if symbols := sorted(dict.fromkeys(s.upper() for s in self._symbols())):
                await ws.send(json.dumps({"subscribe": symbols}))
            await asyncio.sleep(self._resubscribe)

    async def _take(self, message: str | bytes) -> None:
        self.messages += 1
        data = _decode(message)
        if data is None:
            return
        now = self._clock.now()
        if self._health.stream(NAME).message(now):
            log.info("stream: Yahoo streams")
        symbol = data.id.strip().upper()
        ts = utc_from_ms(data.time) or now
        if not symbol or ((last := self._last.get(symbol)) is not None and ts <= last):
            return  # a repeat, or older than a price already taken
        price = self._guard.accept(symbol, _exact(data.price, data.price_hint), source=SOURCE)
        if price is None:
            return
        self._last[symbol], self._seen[symbol] = ts, now
        quote = Quote(symbol, price, ts, SOURCE, now, round(float(data.change_percent), 4))
        if inspect.isawaitable(result := self._on_quotes([quote])):
            await result

    def _down(self, error: str) -> None:
        if self._health.stream(NAME).down(self._clock.now(), error):
            log.warning("stream: Yahoo is down (%s); equity prices are polled meanwhile", error)


def _reason(exc: Exception) -> str:
    """Why the stream is down, as ``/status`` says it (the exception itself goes to the debug log)."""
    if isinstance(exc, TimeoutError):
        return "yahoo: no answer"
    if isinstance(exc, OSError):
        return "yahoo: unreachable"
    return f"yahoo: {exc}" if str(exc) else f"yahoo: {type(exc).__name__}"


def _exact(value: float, decimals: int) -> float:
    """The price Yahoo meant: it sends a 32-bit float (198.31 arrives as 198.3099975…) with the
    number of decimals it is quoted in (``price_hint``, 2 for US shares); without one, the 7
    significant digits a 32-bit float holds."""
    return round(value, decimals) if 0 < decimals <= 8 else float(f"{value:.7g}")


def _decode(message: str | bytes) -> Any:
    """The ``PricingData`` in one streamer message, or None if it is not one."""
    try:
        envelope = json.loads(message)
        data = PricingData()
        data.ParseFromString(base64.b64decode(envelope["message"], validate=True))
    except (ValueError, TypeError, KeyError, DecodeError) as exc:
        log.warning("stream: Yahoo sent a message that is not a price (%s)", exc)
        return None
    return data
