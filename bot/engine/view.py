"""What the rules may read, for one tick: the store behind :class:`~bot.rules.contract.MarketView`.

Bars are read once per symbol and interval for the whole tick (every rule and every
parameter set shares them); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import INTERVALS, AlertKey, AlertKind, Bar, EarningsDate, Quote
from bot.engine.bar_cache import BarCache
from bot.rules.contract import Tick
from bot.rules.level_index import LevelOwners
from bot.store import fanout, market, outbox

T = TypeVar("T")


class StoreView:
    def __init__(self, db: Database, settings: Settings, tick: Tick, levels: LevelOwners, bars: BarCache) -> None:
        self.db = db
        self._settings = settings
        self.tick = tick
        self._levels = levels
        self._bars = bars
        self._memo: dict[Hashable, Any] = {}

    @property
    def settings(self) -> Settings:
        return self._settings

    def levels(self) -> LevelOwners:
        return self._levels

    def daily(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        return self._bars.bars(symbol, "1d", since, until)

    def hourly(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        return self._bars.bars(symbol, "1h", since, until)

    def prices(self, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        """Every price seen of ``symbol`` in ``[since, until]``: quotes at their time, bars at their close."""
        points = set(market.quote_prices(self.db, symbol, since, until))
        for interval in INTERVALS:
            for bar in self._bars.bars(symbol, interval, since - timedelta(days=1), until):
                end = self.tick.bar_close(bar)
                if since <= end <= until:
                    points.add((end, bar.close))
        return sorted(points)

    def intraday(self, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        points = set(market.quote_prices(self.db, symbol, since, until))
        for bar in self._bars.bars(symbol, "1h", since - timedelta(hours=1), until):
            end = self.tick.bar_close(bar)
            if since <= end <= until:
                points.add((end, bar.close))
        return sorted(points)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = make()
        value: T = self._memo[key]
        return value

    def first_quote_since(self, symbol: str, since: datetime) -> Quote | None:
        return market.first_quote_since(self.db, symbol, since)

    def earnings(self, symbols: Sequence[str], since: date) -> list[EarningsDate]:
        return market.load_earnings(self.db, list(symbols), since=since)

    def decided(self, key: AlertKey) -> bool:
        return outbox.alert_exists(self.db, key)

    def decided_in_period(self, kind: AlertKind, symbol: str, period: date) -> bool:
        return outbox.decided_in_period(self.db, kind, symbol, period)

    def told(self, kind: AlertKind, symbol: str, param: str) -> frozenset[int]:
        """The chats the latest such alert went to (queued, or decided and waiting to be queued)."""
        alert_id = outbox.latest_alert(self.db, kind, symbol, param)
        if alert_id is None:
            return frozenset()
        return frozenset(outbox.chats_queued(self.db, alert_id)) | frozenset(
            fanout.chats_waiting_for(self.db, alert_id)
        )
