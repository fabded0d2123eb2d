"""Streamed crypto prices: ccxt's websocket interface (``ccxt.pro``), the REST poll its fallback.

Usage::

    stream = CryptoStream(("binance", "okx"), ("BTC",), on_quotes=collector.take_streamed,
                          on_bars=collector.take_candles, guard=crypto.guard, health=health, clock=clock)
    task = asyncio.create_task(stream.run())   # until cancelled
    stream.live(now)                           # True while messages arrive: the poll stands aside

* One exchange streams at a time: the first of the configured ones that ccxt streams. Its
  ticker stream (Binance: ``<pair>@ticker``, a message a second) gives every price to
  ``on_quotes``, which stores it and hands it to the engine, as a poll does. Its 1-minute
  candles (``<pair>@kline_1m``) go to ``on_bars`` once the next minute has begun: their low and
  high are every trade of the minute, so a wick between two ticker messages reaches the rules.
* A stream that drops is reconnected after a jittered backoff (1 s, growing to a minute while
  it keeps failing). One that fails before its first message gives way to the next exchange.
* A stream that stays connected but sends nothing for ``silent_after`` seconds is dropped and
  reconnected; :meth:`live` is False from then until a message arrives, so the REST poll
  (:meth:`~bot.collector.Collector.poll_crypto`) fetches the prices meanwhile.
* A message that repeats or predates the last one of its symbol is dropped; every price passes
  the same jump guard as the polled ones (one bad print is not believed).
* ``/status`` reads each exchange's stream from the health registry: streaming, with the age of
  its last message, or down, with why.
* To confirm every move on a second venue (``CRYPTO_CONFIRM``), two streams run side by side,
  each avoiding the exchange the other one uses (``avoid``), and :class:`Streams` is live only
  while both are: while one is not, the poll fetches both venues' prices.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from ccxt.async_support.base.exchange import Exchange

from bot.backoff import Backoff
from bot.clock import Clock
from bot.domain import Bar, Quote
from bot.health import HealthRegistry
from bot.sources.base import SourceError, SourceUnavailable
from bot.sources.ccxt_errors import ccxt_errors
from bot.sources.ccxt_exchange import (
    DEFAULT_QUOTES,
    INTERVAL_MS,
    QUOTE_PREFERENCE,
    finite,
    make_exchange,
    parse_bar,
    pick_pair,
    streams,
    utc_from_ms,
)
from bot.sources.validate import JumpGuard, believable_extremes

log = logging.getLogger(__name__)

OnQuotes = Callable[[list[Quote]], object]
"""Called with each message's valid new quotes; awaited if it returns an awaitable."""
OnBars = Callable[[list[Bar]], object]
"""Called with each 1-minute candle once it is complete; awaited if it returns an awaitable."""

CANDLE_MS = INTERVAL_MS["1m"]
SILENT_AFTER = 20.0  # seconds without a message before a connected stream counts as down
# The full ticker (last price and 24 h change) rather than Binance's default mini ticker.
WATCH_PARAMS: dict[str, dict[str, Any]] = {"binance": {"name": "ticker"}}


class CryptoStream:
    """Every price one exchange streams, reconnecting and failing over while it cannot."""

    def __init__(
        self,
        exchanges: Sequence[str],
        symbols: Sequence[str],
        *,
        on_quotes: OnQuotes,
        on_bars: OnBars | None = None,
        guard: JumpGuard,
        health: HealthRegistry,
        clock: Clock,
        pairs: Mapping[str, Mapping[str, str]] | None = None,
        exchange_options: Mapping[str, Mapping[str, Any]] | None = None,
        silent_after: float = SILENT_AFTER,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        timeout: float = 10.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        first: int = 0,
        avoid: Callable[[], str | None] | None = None,
    ) -> None:
        """``exchange_options`` as in ``CRYPTO_EXCHANGE_OPTIONS``: ccxt options, plus ``api_url``
        (REST, for the markets) and ``ws_url`` (the streams) to reach a mirror or a test's fake.
        ``first``: the index of the exchange tried first; ``avoid()``: an exchange not to stream
        from (the one a second stream uses, when two venues must confirm a move)."""
        ids = [e.strip().lower() for e in dict.fromkeys(exchanges)]
        self.exchanges = [e for e in ids if streams(e)]
        self.symbols = tuple(dict.fromkeys(s.strip().upper() for s in symbols))
        self.silent_after = silent_after
        self._on_quotes = on_quotes
        self._on_bars = on_bars
        self._guard = guard
        self._health = health
        self._clock = clock
        self._pairs = {ex: {s.upper(): p for s, p in chosen.items()} for ex, chosen in (pairs or {}).items()}
        self._options = exchange_options or {}
        self._timeout = timeout
        self._backoff = Backoff(backoff_base, backoff_cap, rng)
        self._sleep = sleep
        self._last_ts: dict[str, datetime] = {}
        self._current: str | None = None
        self._first = first
        self._avoid = avoid
        self.messages = 0
        self.attempts = 0  # connections tried
        """Stream messages read so far (each may bring a new price, a repeat, or a late one)."""

    @property
    def current(self) -> str | None:
        """The exchange this stream uses (or tried last)."""
        return self._current

    def live(self, now: datetime) -> bool:
        """Whether prices are streaming now: the current stream's last message is recent."""
        if self._current is None:
            return False
        stream = self._health.stream(self._current)
        return (
            stream.state == "streaming"
            and stream.last_message is not None
            and now - stream.last_message < timedelta(seconds=self.silent_after)
        )

    async def run(self) -> None:
        """Stream until cancelled: reconnect with backoff, fail over to the next exchange."""
        if not self.exchanges:
            log.info("stream: none of the configured exchanges streams; prices are polled")
            return
        index = self._first
        while True:
            ex_id = self.exchanges[index % len(self.exchanges)]
            if self._avoid is not None and len(self.exchanges) > 1 and ex_id == self._avoid():
                index += 1  # the other stream's venue: a second look at the same prices confirms nothing
                continue
            try:
                await self._stream(ex_id)
            except SourceError as exc:
                error = str(exc)
            except Exception as exc:  # a stream must outlive a surprise; say it loudly
                log.exception("stream: %s failed unexpectedly", ex_id)
                error = f"{type(exc).__name__}: {exc}"
            delivered = self._health.stream(ex_id).state == "streaming"  # this connection had messages
            self._down(ex_id, error)
            if delivered:
                self._backoff.reset()  # it worked: try the same exchange again at once
            else:
                index += 1
            delay = self._backoff.next_delay()
            log.info("stream: reconnecting to %s in %.1fs", self.exchanges[index % len(self.exchanges)], delay)
            await self._sleep(delay)

    async def _stream(self, ex_id: str) -> NoReturn:
        """Stream from one exchange until it fails or falls silent (raises); closes it after."""
        self._current = ex_id
        self.attempts += 1
        self._health.stream(ex_id).connecting()
        chosen = dict(self._options.get(ex_id, {}))
        api_url, ws_url = chosen.pop("api_url", None), chosen.pop("ws_url", None)
        exchange = make_exchange(ex_id, api_url, self._timeout, None, chosen, ws_url=ws_url, streaming=True)
        try:
            pairs = await self._pairs_on(exchange)
            loops = [self._tickers(exchange, pairs)]
            if self._on_bars is not None:
                loops += [self._candles(exchange, pair, symbol) for pair, symbol in pairs.items()]
            await _until_one_fails(loops)
            raise SourceUnavailable(f"{ex_id} stream: ended")  # the loops end only by raising
        finally:
            await _close(exchange)

    async def _tickers(self, exchange: Exchange, pairs: Mapping[str, str]) -> NoReturn:
        params = WATCH_PARAMS.get(exchange.id, {})
        while True:
            with ccxt_errors(exchange.id):
                try:
                    tickers = await asyncio.wait_for(
                        exchange.watch_tickers(list(pairs), dict(params)), self.silent_after
                    )
                except TimeoutError:
                    raise SourceUnavailable(f"{exchange.id} stream: no message for {self.silent_after:.0f}s") from None
            await self._take(exchange.id, pairs, tickers)

    async def _candles(self, exchange: Exchange, pair: str, symbol: str) -> NoReturn:
        """Each 1-minute candle once the next one has begun: its low and high are every price
        traded in that minute, the ones between two ticker messages too (a wick)."""
        done = 0  # start (ms) of the newest complete candle taken
        while True:
            with ccxt_errors(exchange.id):
                await exchange.watch_ohlcv(pair, "1m")
            cache = exchange.ohlcvs.get(pair, {}).get("1m") or []
            rows = sorted((row for row in cache if isinstance(row, list) and row), key=lambda row: row[0])
            complete = [row for row in rows[:-1] if row[0] > done]  # the last one is still forming
            if not complete:
                continue
            done = complete[-1][0]
            bars = [self._believable(bar) for row in complete if (bar := parse_bar(row, symbol, "1m", exchange.id))]
            if bars and self._on_bars is not None and inspect.isawaitable(result := self._on_bars(bars)):
                await result

    def _believable(self, bar: Bar) -> Bar:
        high, low = believable_extremes(bar.open, bar.high, bar.low, bar.close, self._guard.max_jump)
        return bar if (high, low) == (bar.high, bar.low) else replace(bar, high=high, low=low)

    async def _pairs_on(self, exchange: Exchange) -> dict[str, str]:
        with ccxt_errors(exchange.id):
            markets = await exchange.load_markets()
        quotes = QUOTE_PREFERENCE.get(exchange.id, DEFAULT_QUOTES)
        found = {}
        for symbol in self.symbols:
            pair = self._pairs.get(exchange.id, {}).get(symbol) or pick_pair(symbol, markets, quotes)
            if pair is not None and pair in markets:
                found[pair] = symbol
        if not found:
            raise SourceUnavailable(f"{exchange.id} stream: no market for {', '.join(self.symbols)}")
        return found

    async def _take(self, ex_id: str, pairs: Mapping[str, str], tickers: Any) -> None:
        now = self._clock.now()
        self.messages += 1
        if self._health.stream(ex_id).message(now):
            log.info("stream: %s streams %s", ex_id, ", ".join(pairs))
        quotes = []
        for pair, ticker in (tickers or {}).items():
            symbol = pairs.get(pair)
            if symbol is None or not isinstance(ticker, Mapping):
                continue
            ts = utc_from_ms(ticker.get("timestamp")) or now
            if (last := self._last_ts.get(symbol)) is not None and ts <= last:
                continue  # a repeat, or older than a price already taken
            price = self._guard.accept(symbol, ticker.get("last"), source=ex_id)
            if price is None:
                continue
            self._last_ts[symbol] = ts
            quotes.append(Quote(symbol, price, ts, ex_id, now, finite(ticker.get("percentage")), pair))
        if quotes and inspect.isawaitable(result := self._on_quotes(quotes)):
            await result

    def _down(self, ex_id: str, error: str) -> None:
        if self._health.stream(ex_id).down(self._clock.now(), error):
            log.warning("stream: %s is down (%s); its prices are polled meanwhile", ex_id, error)


class Streams:
    """Several streams as one for the poll: live only while ``needed`` of them all are (two
    venues to confirm a move: with one streaming, the poll fetches both)."""

    def __init__(self, streams: Sequence[CryptoStream], needed: int) -> None:
        self.streams = list(streams)
        self.needed = needed

    def live(self, now: datetime) -> bool:
        return len(self.streams) >= self.needed and all(stream.live(now) for stream in self.streams)


async def _until_one_fails(loops: Sequence[Coroutine[Any, Any, NoReturn]]) -> None:
    """Run ``loops`` together until one of them raises; the others are cancelled, its error raised."""
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _close(exchange: Exchange) -> None:
    try:
        await exchange.close()
    except Exception as exc:  # noqa: BLE001  closing a broken connection may fail too: nothing to do
        log.debug("stream: closing %s: %s", exchange.id, exc)
