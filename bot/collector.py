"""sources → store: what the scheduled market-data jobs do.

Every poll is one batched request per source (``fetch_tickers`` on one exchange,
one ``yf.download`` for the whole watchlist), whatever the number of chats: chats
never cause a request. Bars are synced when a new one can have completed, and
the staleness flags the engine reads (and ``/status`` shows) are refreshed after every
poll, and by their own job while no poll runs (backing off after failures, or not due).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.domain import INTERVALS, Bar, Interval, Quote
from bot.health import HealthRegistry
from bot.markettime import NEW_YORK, CalendarRangeError, MarketHours, bar_close_time, next_bar_close
from bot.sources.base import EarningsSource, MarketSource, SourceError
from bot.sources.consensus import Consensus
from bot.staleness import SeriesPolicy, stale_series
from bot.store import market
from bot.store.watchlist import watched_equities

log = logging.getLogger(__name__)

# History fetched when a series has none: enough for the 63-session (90d) correlation window.
BACKFILL: dict[str, timedelta] = {"1h": timedelta(days=30), "1d": timedelta(days=200)}
SYNC_DELAY = timedelta(minutes=1)  # let an exchange finish a bar before asking for it
SYNC_RETRY = timedelta(minutes=5)  # after a failed bar sync (quotes keep flowing meanwhile)
QUOTE_RETENTION = timedelta(days=7)
REPORT_EXPLAINS = timedelta(days=4)  # a report explains a large move until then (after a weekend too)


class Streaming(Protocol):
    def live(self, now: datetime) -> bool:
        """Whether streamed prices arrive now (so polling them would only repeat them)."""


class Covering(Protocol):
    def covered(self, now: datetime) -> set[str]:
        """The names with a streamed price lately (polling them would only repeat it)."""


Stored = Callable[[datetime, list[Quote], list[Bar]], object]
"""Called with what a poll stored (store → engine): the time, the new quotes, the new complete
bars. If it returns an awaitable (the engine queueing a large audience), the poll awaits it."""


@dataclass
class Collector:
    db: Database
    settings: Settings
    clock: Clock
    health: HealthRegistry
    hours: MarketHours
    crypto: MarketSource | None = None
    equities: MarketSource | None = None
    earnings: EarningsSource | None = None
    on_stored: Stored | None = None  # the engine decides alerts from what each poll stored
    stream: Streaming | None = None  # streamed crypto prices: the poll fetches them only while it is down
    equity_stream: Covering | None = None  # streamed equity prices: the poll fetches the names it lacks
    consensus: Consensus | None = None  # CRYPTO_CONFIRM: crypto prices and candles as two venues agree
    sync_delay: timedelta = SYNC_DELAY  # recorded data is final at once: replay syncs with 0
    _next_sync: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    _stale_checked: datetime | None = None

    # -- what is tracked ---------------------------------------------------------------
    def crypto_symbols(self) -> list[str]:
        return list(self.settings.crypto_symbols)

    def equity_symbols(self) -> list[str]:
        return watched_equities(self.db, self.settings)

    def policies(self) -> dict[str, SeriesPolicy]:
        multiple = self.settings.stale_after_intervals
        crypto = SeriesPolicy(timedelta(seconds=self.settings.crypto_poll_seconds), multiple)
        equity = SeriesPolicy(
            timedelta(seconds=self.settings.equity_poll_seconds), multiple, session_open=self._session_open
        )
        policies = dict.fromkeys(self.crypto_symbols(), crypto) if self.crypto else {}
        if self.equities:
            policies.update(dict.fromkeys(self.equity_symbols(), equity))
        return policies

    def _session_open(self, now: datetime) -> datetime | None:
        try:
            return self.hours.latest_started_session(now).open if self.hours.is_open(now) else None
        except CalendarRangeError:
            return None

    # -- jobs --------------------------------------------------------------------------
    async def poll_crypto(self, now: datetime) -> None:
        assert self.crypto is not None
        if self.stream is not None and self.stream.live(now):  # prices stream in: only the bars are due
            bars = await self._sync_bars(self.crypto, self.crypto_symbols(), now, crypto=True)
            await self._stored([], bars)
            return
        await self._poll(self.crypto, self.crypto_symbols(), now, crypto=True)

    async def take_streamed(self, quotes: list[Quote]) -> None:
        """What a stream message brings is stored and decided on at once, as a poll's quotes are."""
        quotes = self._confirmed(quotes)
        if not quotes:
            return  # one venue's price, waiting for a second to confirm it
        market.insert_quotes(self.db, quotes)
        if any(q.symbol in self.health.stale for q in quotes):  # a price can only make its own series fresh;
            self.refresh_staleness(self.clock.now())  # the others are the staleness job's (not per message)
        await self._stored(quotes, [])

    async def take_candles(self, bars: list[Bar]) -> None:
        """A streamed minute's candle: its low and high reach the rules (a wick between two prices)."""
        if self.consensus is not None:
            bars = self.consensus.bars(bars)  # given once both venues' candles of the minute are in
            if not bars:
                return
        market.upsert_bars(self.db, bars)
        await self._stored([], bars)

    async def poll_equities(self, now: datetime) -> None:
        assert self.equities is not None
        symbols = self.equity_symbols()
        explain = getattr(self.equities, "explain_jumps", None)
        if explain is not None:  # a name that just reported may gap 20 %: its market's answer, not a bad print
            explain(self.reported_lately(symbols, now))
        covered = self.equity_stream.covered(now) if self.equity_stream is not None else set()
        polled = [s for s in symbols if s not in covered]  # a quiet name, or all while the stream is down
        if not polled:
            bars = await self._sync_bars(self.equities, symbols, now, crypto=False)
            await self._stored([], bars)
            return
        await self._poll(self.equities, polled, now, crypto=False, bar_symbols=symbols)

    def reported_lately(self, symbols: Sequence[str], now: datetime) -> set[str]:
        """The names with a report on the calendar in the last few days (New York dates)."""
        today = now.astimezone(NEW_YORK).date()
        reports = market.load_earnings(self.db, list(symbols), since=today - REPORT_EXPLAINS)
        return {report.symbol for report in reports if report.report_date <= today}

    async def _poll(
        self,
        source: MarketSource,
        symbols: list[str],
        now: datetime,
        *,
        crypto: bool,
        bar_symbols: list[str] | None = None,
    ) -> None:
        try:
            quotes = self._confirmed(await source.fetch_quotes(symbols))
            market.insert_quotes(self.db, quotes)
            bars = await self._sync_bars(source, bar_symbols or symbols, now, crypto=crypto)
        finally:
            self.refresh_staleness(self.clock.now())
        await self._stored(quotes, bars)

    def _confirmed(self, quotes: list[Quote]) -> list[Quote]:
        """The crypto prices as the venues agree on them (``CRYPTO_CONFIRM``); others as they are."""
        if self.consensus is None:
            return quotes
        crypto = set(self.settings.crypto_symbols)
        others = [q for q in quotes if q.symbol not in crypto]
        return others + self.consensus.quotes(q for q in quotes if q.symbol in crypto)

    async def _stored(self, quotes: list[Quote], bars: list[Bar]) -> None:
        if self.on_stored is not None and inspect.isawaitable(result := self.on_stored(self.clock.now(), quotes, bars)):
            await result

    async def refresh_earnings(self, now: datetime) -> None:
        assert self.earnings is not None
        dates = await self.earnings.fetch_earnings(self.equity_symbols())
        market.upsert_earnings(self.db, dates, now)
        market.prune_quotes(self.db, QUOTE_RETENTION, now)
        log.info("earnings calendar refreshed: %d dates", len(dates))

    async def backfill(self, now: datetime) -> None:
        """Fetch the history each series lacks: all of it on a first start, only the gap after."""
        if self.crypto is not None:
            await self._sync_bars(self.crypto, self.crypto_symbols(), now, crypto=True, force=True)
        if self.equities is not None:
            await self._sync_bars(self.equities, self.equity_symbols(), now, crypto=False, force=True)

    async def check_staleness(self, now: datetime) -> None:
        """The staleness job: a series whose poll keeps failing goes stale on time, not at the next try."""
        if self._stale_checked != now:  # a poll at this moment just did it
            self.refresh_staleness(now)

    def refresh_staleness(self, now: datetime) -> None:
        policies = self.policies()
        latest = market.latest_quotes(self.db, list(policies))
        self.health.set_stale(stale_series({s: q.ts for s, q in latest.items()}, policies, now))
        self._stale_checked = now

    # -- bars ----------------------------------------------------------------------------
    async def _sync_bars(
        self,
        source: MarketSource,
        symbols: Sequence[str],
        now: datetime,
        *,
        crypto: bool,
        force: bool = False,
    ) -> list[Bar]:
        stored: list[Bar] = []
        """Fetch the bars each series lacks and store the complete ones; returns the new ones."""
        for interval in INTERVALS:
            key = (source.name, "crypto" if crypto else "equities", interval)
            if not force and now < self._next_sync.get(key, now):
                continue
            try:
                known = {s: market.last_bar_time(self.db, s, interval) for s in symbols}
                fetched = await self._fetch_missing(source, symbols, interval, now, known)
                complete = [b for b in fetched if self._complete(b, now, crypto)]
                written = market.upsert_bars(self.db, complete)
                stored += [b for b in complete if (last := known.get(b.symbol)) is None or b.ts > last]
            except SourceError as exc:
                if force:
                    raise
                log.warning("%s: %s bars not synced (%s); trying again later", source.name, interval, exc)
                self._next_sync[key] = now + SYNC_RETRY
                continue
            if written:
                log.info("%s: stored %d %s bar(s)", source.name, written, interval)
            self._next_sync[key] = self._next_sync_time(now, interval, crypto)
        return stored

    async def _fetch_missing(
        self,
        source: MarketSource,
        symbols: Sequence[str],
        interval: Interval,
        now: datetime,
        last: dict[str, datetime | None],
    ) -> list[Bar]:
        # Re-fetch the last stored bar too: a source may have revised it.
        starts = {s: last[s] or now - BACKFILL[interval] for s in symbols}
        fetch_many = getattr(source, "fetch_bars_many", None)
        if fetch_many is not None:  # one batched request for the whole watchlist
            found = await fetch_many(list(symbols), interval, min(starts.values()))
            return [b for s, rows in found.items() for b in rows if b.ts >= starts.get(s, b.ts)]
        return [b for s in symbols for b in await source.fetch_bars(s, interval, starts[s])]

    def _complete(self, bar: Bar, now: datetime, crypto: bool) -> bool:
        """Only finished bars are stored: the one still forming would mislead the rules."""
        return bar_close_time(bar, self.hours, around_the_clock=crypto) <= now

    def _next_sync_time(self, now: datetime, interval: Interval, crypto: bool) -> datetime:
        return next_bar_close(now, interval, self.hours, around_the_clock=crypto) + self.sync_delay

    async def close(self) -> None:
        for source in {id(s): s for s in (self.crypto, self.equities, self.earnings) if s}.values():
            close = getattr(source, "close", None)
            if close is not None:
                await close()
