"""Crypto prices from exchanges through ``ccxt.async_support``, behind :class:`MarketSource`.

Usage::

    source = CryptoSource(("binance", "okx"), ("BTC",), health=health, clock=clock)
    quotes = await source.fetch_quotes(["BTC"])         # one fetch_tickers per exchange asked
    bars = await source.fetch_bars("BTC", "1d", since)  # complete bars only, oldest first
    await source.close()

* Exchanges are asked in priority order. Quotes: one batched ``fetch_tickers`` per
  exchange; only symbols it could not price go on to the next. Bars: a series comes whole
  from one exchange; if it fails half-way, the next one starts again from ``since``.
* The bot says ``BTC``; each exchange gets its own pair (``BTC/USDT`` on Binance and OKX,
  ``BTC/USD`` on Kraken and Coinbase), see :func:`pick_pair`.
* Timeouts, 5xx and malformed bodies are retried with jittered backoff before failing
  over; a 429/418 is not: that exchange rests for a cooldown that grows while it refuses.
* Only complete bars are returned: the one still forming is left out (the live price is
  what :meth:`fetch_quotes` is for). An empty OHLCV page ends the series; on OKX a data
  gap longer than one page (100 bars) does too.
* A bar's wick more than ``max_jump_pct`` beyond its open and close is not believed (one
  exchange's bad print): it is cut back to the body, as the jump guard rejects such a quote.
* ``confirm=True`` (``CRYPTO_CONFIRM``): quotes come from two exchanges per symbol (the
  collector's :class:`~bot.sources.consensus.Consensus` keeps the move both show), and bars
  from two, merged to the range both traded (:func:`~bot.sources.consensus.merge_series`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ccxt.async_support.base.exchange import Exchange

from bot.backoff import Backoff
from bot.clock import Clock, SystemClock
from bot.config import DEFAULT_EXCHANGES
from bot.domain import INTERVALS, Bar, Interval, Quote
from bot.health import HealthRegistry
from bot.sources.base import SourceUnavailable, UnknownSymbol
from bot.sources.ccxt_errors import ccxt_errors, is_rate_limit
from bot.sources.ccxt_exchange import (
    DEFAULT_PAGE_LIMIT,
    DEFAULT_QUOTES,
    INTERVAL_MS,
    PAGE_LIMIT,
    QUOTE_PREFERENCE,
    fetch_bars,
    fetch_tickers,
    finite,
    make_exchange,
    pick_pair,
    utc_from_ms,
)
from bot.sources.consensus import merge_series
from bot.sources.validate import JumpGuard, believable_extremes

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

MAX_PAGES = 1000


def _ms(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("fetch_bars needs timezone-aware datetimes")
    return int(when.timestamp() * 1000)


@dataclass(eq=False)
class _Venue:
    id: str
    exchange: Exchange
    quotes: tuple[str, ...]
    overrides: dict[str, str]
    penalty: Backoff
    pairs: dict[str, str | None] = field(default_factory=dict)
    cooldown_until: datetime | None = None


class CryptoSource:
    """Quotes and bars for canonical crypto symbols, with failover across exchanges."""

    name = "crypto"

    def __init__(
        self,
        exchanges: Sequence[str] = DEFAULT_EXCHANGES,
        symbols: Sequence[str] = ("BTC",),
        *,
        pairs: Mapping[str, Mapping[str, str]] | None = None,
        api_urls: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        max_jump_pct: float = 20.0,
        guard: JumpGuard | None = None,
        attempts: int = 2,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        cooldown: float = 30.0,
        cooldown_cap: float = 600.0,
        rate_limit_ms: float | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        health: HealthRegistry | None = None,
        clock: Clock | None = None,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        confirm: bool = False,
    ) -> None:
        """``pairs`` overrides the pair per exchange and symbol (``{"kraken": {"BTC": "BTC/USDT"}}``).

        ``api_urls`` points an exchange at another server (a mirror; tests: the loopback fake);
        ``options`` adds ccxt options per exchange (``{"binance": {"httpsProxy": "http://…"}}``).
        ``timeout`` is seconds per request; ``attempts`` counts tries per exchange.
        ``rate_limit_ms`` is ccxt's limiter unit: None keeps each exchange's own, 0 turns it off.
        ``confirm``: every quote and bar from two exchanges (see the module's docstring).
        """
        if not exchanges:
            raise ValueError("CryptoSource needs at least one exchange")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.symbols = tuple(dict.fromkeys(s.strip().upper() for s in symbols))
        self.per_symbol = 2 if confirm else 1  # exchanges asked for each quote and bar series
        self._guard = guard if guard is not None else JumpGuard(max_jump_pct)
        self._attempts = attempts
        self._backoff = (backoff_base, backoff_cap)
        self._cooldown = cooldown
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._health = health
        self._clock: Clock = clock if clock is not None else SystemClock()
        pairs, api_urls, options = pairs or {}, api_urls or {}, options or {}
        self._venues = [
            _Venue(
                id=ex_id,
                exchange=make_exchange(ex_id, api_urls.get(ex_id), timeout, rate_limit_ms, options.get(ex_id)),
                quotes=QUOTE_PREFERENCE.get(ex_id, DEFAULT_QUOTES),
                overrides={s.upper(): p for s, p in pairs.get(ex_id, {}).items()},
                penalty=Backoff(cooldown, max(cooldown, cooldown_cap), self._rng),
            )
            for ex_id in dict.fromkeys(e.strip().lower() for e in exchanges)
        ]

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> CryptoSource:
        """A source for ``CRYPTO_EXCHANGES``, ``CRYPTO_SYMBOLS``, ``CRYPTO_EXCHANGE_OPTIONS`` and
        ``MAX_PRICE_JUMP_PCT``."""
        kwargs.setdefault("max_jump_pct", settings.max_price_jump_pct)
        kwargs.setdefault("confirm", settings.crypto_confirm)
        chosen = settings.crypto_exchange_options
        kwargs.setdefault("api_urls", {ex: o["api_url"] for ex, o in chosen.items() if o.get("api_url")})
        urls = ("api_url", "ws_url")  # the stream's host is the stream's business
        kwargs.setdefault("options", {ex: {k: v for k, v in o.items() if k not in urls} for ex, o in chosen.items()})
        return cls(settings.crypto_exchanges, settings.crypto_symbols, **kwargs)

    @property
    def exchanges(self) -> Mapping[str, Exchange]:
        """The ccxt exchange objects by id, in priority order (for diagnostics and tests)."""
        return {venue.id: venue.exchange for venue in self._venues}

    @property
    def guard(self) -> JumpGuard:
        """The jump guard every price passes (shared with the stream, so both judge alike)."""
        return self._guard

    def seed(self, symbol: str, price: float) -> None:
        """Tell the jump guard a known good price (e.g. the last stored close after a restart)."""
        self._guard.seed(symbol.upper(), price)

    async def fetch_quotes(self, symbols: Sequence[str] = ()) -> list[Quote]:
        """Latest valid quote per symbol (the configured ones if none are given); with
        ``confirm``, one from each of two exchanges."""
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols)) or list(self.symbols)
        found: dict[str, list[Quote]] = {s: [] for s in wanted}
        errors: list[Exception] = []
        for venue in self._venues:
            remaining = [s for s in wanted if len(found[s]) < self.per_symbol]
            if not remaining:
                break
            try:
                quotes = await self._on_venue(
                    venue,
                    f"quotes {','.join(remaining)}",
                    functools.partial(self._quotes_from, venue, remaining),
                )
            except (SourceUnavailable, UnknownSymbol) as exc:
                errors.append(exc)
                continue
            for symbol, quote in quotes.items():
                found[symbol].append(quote)
        if not any(found.values()):
            _raise_all_failed(f"quotes for {', '.join(wanted)}", errors)
        if missing := [s for s in wanted if not found[s]]:
            log.info("crypto: no valid price for %s this time", ", ".join(missing))
        if short := [s for s in wanted if 0 < len(found[s]) < self.per_symbol]:
            log.info("crypto: %s priced on one exchange only: not confirmed this time", ", ".join(short))
        return [quote for s in wanted for quote in found[s]]

    async def fetch_bars(
        self, symbol: str, interval: Interval, since: datetime, until: datetime | None = None
    ) -> list[Bar]:
        """Complete bars starting at or after ``since`` and before ``until``, oldest first."""
        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
        symbol = symbol.strip().upper()
        step = INTERVAL_MS[interval]
        start = -(-_ms(since) // step) * step
        end = _ms(self._clock.now()) // step * step  # start of the bar still forming
        if until is not None:
            end = min(end, _ms(until))
        errors: list[Exception] = []
        series: list[list[Bar]] = []
        for venue in self._venues:
            try:
                series.append(
                    await self._on_venue(
                        venue,
                        f"{interval} bars {symbol}",
                        functools.partial(self._bars_from, venue, symbol, interval, start, end),
                    )
                )
            except (SourceUnavailable, UnknownSymbol) as exc:
                errors.append(exc)
            if len(series) == self.per_symbol:
                break
        if not series:
            _raise_all_failed(f"{interval} bars for {symbol}", errors)
        if self.per_symbol == 1:
            return series[0]
        if len(series) == 1:
            log.warning("crypto: %s %s bars from one exchange only: their wicks are not confirmed", symbol, interval)
        return merge_series(series[0], series[1] if len(series) > 1 else [])

    async def close(self) -> None:
        """Close every exchange's HTTP session."""
        results = await asyncio.gather(*(v.exchange.close() for v in self._venues), return_exceptions=True)
        for venue, result in zip(self._venues, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                log.warning("%s: close failed: %s", venue.id, result)

    # -- one exchange ---------------------------------------------------------------

    async def _quotes_from(self, venue: _Venue, symbols: Sequence[str]) -> dict[str, Quote]:
        pairs = await self._pairs(venue, symbols)
        tickers = await self._call(venue, lambda: fetch_tickers(venue.exchange, list(pairs)))
        fetched_at = self._clock.now()
        quotes: dict[str, Quote] = {}
        for pair, symbol in pairs.items():
            ticker = tickers.get(pair)
            if not isinstance(ticker, Mapping):
                log.warning("%s: the answer has no ticker for %s (%s)", venue.id, symbol, pair)
                continue
            price = self._guard.accept(symbol, ticker.get("last"), source=venue.id)
            if price is not None:
                ts = utc_from_ms(ticker.get("timestamp")) or fetched_at
                change = finite(ticker.get("percentage"))
                quotes[symbol] = Quote(symbol, price, ts, venue.id, fetched_at, change, pair)
        if not quotes:
            raise SourceUnavailable(f"{venue.id}: no valid price for {', '.join(pairs.values())}")
        return quotes

    async def _bars_from(self, venue: _Venue, symbol: str, interval: Interval, start: int, end: int) -> list[Bar]:
        (pair,) = await self._pairs(venue, [symbol])
        step, limit = INTERVAL_MS[interval], PAGE_LIMIT.get(venue.id, DEFAULT_PAGE_LIMIT)
        bars: dict[int, Bar] = {}
        cursor = start
        for _ in range(MAX_PAGES):
            if cursor >= end:
                break
            page = await self._call(
                venue, functools.partial(fetch_bars, venue.exchange, pair, symbol, interval, cursor, limit)
            )
            if not page:
                break
            for bar in page:
                if cursor <= (ts := _ms(bar.ts)) < end:
                    bars[ts] = self._believable(venue, pair, bar)
            newest = max(_ms(bar.ts) for bar in page)
            if newest < cursor:
                break  # the exchange ignored ``since``: no further progress possible
            cursor = newest + step
        else:
            log.warning("%s: stopped %s %s after %d pages", venue.id, pair, interval, MAX_PAGES)
        return [bars[ts] for ts in sorted(bars)]

    def _believable(self, venue: _Venue, pair: str, bar: Bar) -> Bar:
        high, low = believable_extremes(bar.open, bar.high, bar.low, bar.close, self._guard.max_jump)
        if (high, low) == (bar.high, bar.low):
            return bar
        log.warning(
            "%s: %s %s bar of %s: wick to %s–%s not believed (over %.0f%% beyond open and close)",
            venue.id, pair, bar.interval, bar.ts.isoformat(), bar.low, bar.high, self._guard.max_jump * 100,
        )  # fmt: skip
        return replace(bar, high=high, low=low)

    async def _pairs(self, venue: _Venue, symbols: Sequence[str]) -> dict[str, str]:
        """``{pair: symbol}`` for the symbols this exchange lists; UnknownSymbol if none."""
        markets = await self._call(venue, venue.exchange.load_markets)
        for symbol in symbols:
            if symbol in venue.pairs:
                continue
            pair = venue.overrides.get(symbol) or pick_pair(symbol, markets, venue.quotes)
            if pair is None or pair not in markets:
                wanted = pair or f"{symbol}/{'|'.join(venue.quotes)}"
                log.warning("%s: %s is not listed; %s is skipped there", venue.id, wanted, symbol)
                pair = None
            venue.pairs[symbol] = pair
        found = {pair: s for s in symbols if (pair := venue.pairs[s]) is not None}
        if not found:
            raise UnknownSymbol(f"{venue.id}: no market for {', '.join(symbols)}")
        return found

    async def _call(self, venue: _Venue, request: Callable[[], Awaitable[T]]) -> T:
        """``request()`` with ccxt's errors mapped; transient failures retried with backoff."""
        backoff = Backoff(*self._backoff, rng=self._rng)
        while True:
            try:
                with ccxt_errors(venue.id):
                    return await request()
            except SourceUnavailable as exc:
                if backoff.attempts + 1 >= self._attempts or is_rate_limit(exc):
                    raise
                delay = backoff.next_delay()
                log.info("%s; retrying in %.1fs", exc, delay)
                await self._sleep(delay)

    async def _on_venue(self, venue: _Venue, what: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` against one exchange, honouring its cooldown and recording its health."""
        now = self._clock.now()
        if venue.cooldown_until is not None and now < venue.cooldown_until:
            left = (venue.cooldown_until - now).total_seconds()
            raise SourceUnavailable(f"{venue.id}: rate limited, resting {left:.0f}s")
        try:
            result = await work()
        except UnknownSymbol as exc:
            log.log(logging.WARNING if exc.__cause__ else logging.DEBUG, "crypto %s: %s", what, exc)
            raise
        except SourceUnavailable as exc:
            now = self._clock.now()
            if is_rate_limit(exc):
                venue.cooldown_until = now + timedelta(seconds=venue.penalty.next_delay() + self._cooldown)
            if self._health is not None:
                self._health.failure(venue.id, now, str(exc))
            log.warning("crypto %s: %s", what, exc)
            raise
        venue.penalty.reset()
        venue.cooldown_until = None
        if self._health is not None:
            self._health.success(venue.id, self._clock.now())
        return result


def _raise_all_failed(what: str, errors: Sequence[Exception]) -> NoReturn:
    """One exception naming every exchange's reason; UnknownSymbol if none of them lists it."""
    message = f"crypto: no exchange gave {what}: " + "; ".join(map(str, errors))
    if all(isinstance(error, UnknownSymbol) for error in errors):
        raise UnknownSymbol(message)
    raise SourceUnavailable(message)
