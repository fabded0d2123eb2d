"""The one protocol every market data source implements, and its plain data types.

Schema (all timestamps are timezone-aware UTC):

* :class:`Quote` -- the latest traded price of one symbol at one source.
* :class:`Bar` -- one OHLCV bar. ``ts`` is the bar's *start*. Daily bars (``"1d"``)
  start at 00:00 UTC of their date: for crypto the UTC calendar day, for equities
  the US trading day (the session's date, whatever its hours).
* :class:`EarningsDate` -- a company's report date and whether it is before the
  open or after the close.

Symbols are the bot's canonical names (``BTC``, ``NVDA``, ``QQQ``), never an
exchange's pair (``BTC/USDT``) or Yahoo's (``BTC-USD``): each source maps them.

Sources raise only the two project exceptions below; library exceptions are
mapped in one place per source, with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

Interval = Literal["1h", "1d"]
INTERVALS: tuple[Interval, ...] = ("1h", "1d")
EarningsTiming = Literal["before_open", "after_close", "unknown"]


class SourceError(Exception):
    """Base of the project's data source exceptions."""


class SourceUnavailable(SourceError):
    """The source could not give a usable answer now (network, rate limit, bad data)."""


class UnknownSymbol(SourceError):
    """The source does not know this symbol; retrying will not help."""


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: float
    ts: datetime
    source: str
    fetched_at: datetime
    change_24h_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    interval: Interval
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float | None
    source: str


@dataclass(frozen=True, slots=True)
class EarningsDate:
    symbol: str
    report_date: date
    timing: EarningsTiming
    source: str


@runtime_checkable
class MarketSource(Protocol):
    """What the scheduler and the replay driver need from a source of prices."""

    name: str

    async def fetch_quotes(self, symbols: Sequence[str]) -> list[Quote]:
        """Latest quotes for ``symbols`` in one batched request where the source allows.

        Symbols the source cannot price are left out; if none can be priced,
        raise :class:`SourceUnavailable` (or :class:`UnknownSymbol` for one symbol).
        """

    async def fetch_bars(
        self, symbol: str, interval: Interval, since: datetime, until: datetime | None = None
    ) -> list[Bar]:
        """Bars of ``symbol`` starting at or after ``since`` (and before ``until``), oldest first."""

    async def close(self) -> None:
        """Release connections."""


@runtime_checkable
class EarningsSource(Protocol):
    name: str

    async def fetch_earnings(self, symbols: Sequence[str]) -> list[EarningsDate]:
        """Known past and upcoming report dates for ``symbols``."""
