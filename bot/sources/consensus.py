"""Two venues must agree: a price move, or a wick, counts only as far as both exchanges show it.

Usage (``CRYPTO_CONFIRM=true``; the collector passes every crypto price and candle through)::

    consensus = Consensus()
    consensus.quotes([binance_89_400])   # []: one venue only, nothing to confirm it yet
    consensus.quotes([okx_90_300])       # [BTC 90,300 binance+okx]: the move both agree on so far
    consensus.bars([binance_minute, okx_minute])  # the minute, its low and high as both saw them

A single venue's print (a low of 100,000 on one exchange on 2025-10-10 while the others' low
was 105.8k) is then never a level break:

* **Prices.** The confirmed price moves only where every venue with a recent price has gone:
  it is the last confirmed price pulled into the range of the venues' latest prices. Both below
  a level means the confirmed price is below it too; one below and one above leaves it where it
  was. A venue whose price is older than ``max_age`` does not count, and with fewer than two
  recent venues nothing is confirmed (the series goes stale rather than alert on one venue).
* **Candles and bars.** A bar's low is the higher of the venues' lows and its high the lower of
  their highs: the prices both traded through. It is given once both venues' bars of that
  interval and start are in; a bar only one venue ever sends is not given at all.

The confirmed quote names both venues (``source="binance+okx"``, the first the one whose price it
is), so an alert says where its price was seen and confirmed. Pure logic: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain import Bar, Quote

MAX_AGE = timedelta(seconds=60)  # a venue's price older than this (behind the newest) does not vote
KEEP_BARS = timedelta(hours=3)  # a bar still waiting for its second venue is forgotten after this
SEPARATOR = "+"


def venues_of(source: str) -> list[str]:
    """The venues a quote or bar's ``source`` names: ``"binance+okx"`` → ``["binance", "okx"]``."""
    return source.split(SEPARATOR)


class Consensus:
    """The prices and bars two venues agree on (see the module's docstring)."""

    def __init__(self, priority: Sequence[str] = (), venues: int = 2, max_age: timedelta = MAX_AGE) -> None:
        """``priority``: the exchanges in the order configured; a bar names them in that order."""
        if venues < 2:
            raise ValueError("a consensus needs at least two venues")
        self.priority = {venue: rank for rank, venue in enumerate(priority)}
        self.venues = venues
        self.max_age = max_age
        self._latest: dict[str, dict[str, Quote]] = {}  # symbol → venue → its newest quote
        self._confirmed: dict[str, float] = {}
        self._bars: dict[tuple[str, str, datetime], dict[str, Bar]] = {}
        self.held = 0
        """Prices and bars not (yet) confirmed by a second venue: seen on one only."""

    def quotes(self, quotes: Iterable[Quote]) -> list[Quote]:
        """The confirmed price after each of ``quotes`` (none while fewer than two venues vote)."""
        confirmed = []
        for quote in quotes:
            latest = self._latest.setdefault(quote.symbol, {})
            known = latest.get(quote.source)
            if known is not None and quote.ts < known.ts:
                continue  # older than what this venue already said
            latest[quote.source] = quote
            newest = max(q.ts for q in latest.values())
            voting = [q for q in latest.values() if newest - q.ts <= self.max_age]
            if len(voting) < self.venues:
                self.held += 1
                continue
            confirmed.append(self._agree(quote, voting))
        return confirmed

    def _agree(self, quote: Quote, voting: Sequence[Quote]) -> Quote:
        low, high = min(q.price for q in voting), max(q.price for q in voting)
        last = self._confirmed.get(quote.symbol, quote.price)
        price = min(max(last, low), high)
        self._confirmed[quote.symbol] = price
        # Say first the venue whose price it is (the nearest, the newest on a tie).
        ranked = sorted(voting, key=lambda q: (abs(q.price - price), q is not quote))
        source = SEPARATOR.join(q.source for q in ranked)
        return replace(ranked[0], price=price, ts=quote.ts, source=source, fetched_at=quote.fetched_at)

    def bars(self, bars: Iterable[Bar]) -> list[Bar]:
        """Each bar both venues have sent, as they agree on it (oldest first)."""
        agreed = []
        for bar in bars:
            key = (bar.symbol, bar.interval, bar.ts)
            waiting = self._bars.setdefault(key, {})
            waiting[bar.source] = bar
            if len(waiting) == self.venues:
                ranked = sorted(
                    waiting.values(), key=lambda b: (self.priority.get(b.source, len(self.priority)), b.source)
                )
                agreed.append(agree_bars(ranked))
                del self._bars[key]
            horizon = bar.ts - KEEP_BARS
            for old in [key for key in self._bars if key[2] < horizon]:
                del self._bars[old]  # its second venue never sent it
                self.held += 1
        return sorted(agreed, key=lambda b: b.ts)


def agree_bars(bars: Sequence[Bar]) -> Bar:
    """One interval's bars from several venues as they agree: the lowest high, the highest low.

    Open and close are the first venue's, kept inside that range. Two venues whose ranges do not
    meet (a venue far off the other) agree on no wick: the first venue's body is given.
    """
    first = bars[0]
    high, low = min(b.high for b in bars), max(b.low for b in bars)
    if low > high:
        high, low = max(first.open, first.close), min(first.open, first.close)
    open_, close = min(max(first.open, low), high), min(max(first.close, low), high)
    source = SEPARATOR.join(b.source for b in bars)
    return replace(first, open=open_, high=high, low=low, close=close, source=source)


def merge_series(primary: Sequence[Bar], second: Sequence[Bar]) -> list[Bar]:
    """Two venues' bar series (same symbol and interval) as they agree, bar by bar; a bar the
    second venue lacks keeps only its body (no venue confirms its wick)."""
    others = {bar.ts: bar for bar in second}
    merged = []
    for bar in primary:
        other = others.get(bar.ts)
        if other is not None:
            merged.append(agree_bars([bar, other]))
        else:
            high, low = max(bar.open, bar.close), min(bar.open, bar.close)
            merged.append(replace(bar, high=high, low=low))
    return merged
