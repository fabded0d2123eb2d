"""The one protocol every market data source implements, and the two exceptions it may raise.

Sources speak the bot's plain types (:mod:`bot.domain`: ``Quote``, ``Bar``,
``EarningsDate``) and canonical symbols (``BTC``, ``NVDA``), never an exchange's pair
(``BTC/USDT``) or Yahoo's (``BTC-USD``): each source maps them.

Sources raise only the two project exceptions below; library exceptions are
mapped in one place per source, with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain import Bar, EarningsDate, Interval, Quote


class SourceError(Exception):
    """Base of the project's data source exceptions."""


class SourceUnavailable(SourceError):
    """The source could not give a usable answer now (network, rate limit, bad data)."""


class UnknownSymbol(SourceError):
    """The source does not know this symbol; retrying will not help.

    ``known`` lists the symbols the source does have, when it can say (recorded data).
    """

    def __init__(self, message: str, *, known: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.known = tuple(known)


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


@runtime_checkable
class SymbolCheck(Protocol):
    async def validate_symbol(self, ticker: str) -> str:
        """The canonical symbol if the source has prices for ``ticker``; :class:`UnknownSymbol` if it
        does not know it, :class:`SourceUnavailable` if it cannot say now."""
