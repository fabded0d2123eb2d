"""What the rules may read, for one tick: the store behind :class:`~bot.rules.contract.MarketView`.

Bars are read once per symbol and interval for the whole tick (every rule and every
parameter set shares them); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlite_utils import Database

from bot.config import Settings
from bot.domain import AlertKey, AlertKind, Bar, EarningsDate, Interval, Quote
from bot.rules.contract import Tick
from bot.rules.level_index import LevelOwners
from bot.store import market, outbox


class StoreView:
    def __init__(self, db: Database, settings: Settings, tick: Tick, levels: LevelOwners) -> None:
        self.db = db
        self._settings = settings
        self.tick = tick
        self._levels = levels
        self._bars: dict[tuple[str, Interval], tuple[datetime, list[Bar]]] = {}

    @property
    def settings(self) -> Settings:
        return self._settings

    def levels(self) -> LevelOwners:
        return self._levels

    def _load(self, symbol: str, interval: Interval, since: datetime, until: datetime | None) -> list[Bar]:
        cached = self._bars.get((symbol, interval))
        if cached is None or since < cached[0]:
            cached = (since, market.load_bars(self.db, symbol, interval, since))
            self._bars[(symbol, interval)] = cached
        return [b for b in cached[1] if b.ts >= since and (until is None or b.ts < until)]

    def daily(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        return self._load(symbol, "1d", since, until)

    def hourly(self, symbol: str, since: datetime, until: datetime | None = None) -> list[Bar]:
        return self._load(symbol, "1h", since, until)

    def prices(self, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
        return market.price_history(self.db, symbol, since, until, self.tick.bar_close)

    def first_quote_since(self, symbol: str, since: datetime) -> Quote | None:
        return market.first_quote_since(self.db, symbol, since)

    def earnings(self, symbols: Sequence[str], since: date) -> list[EarningsDate]:
        return market.load_earnings(self.db, list(symbols), since=since)

    def decided(self, key: AlertKey) -> bool:
        return outbox.alert_exists(self.db, key)

    def decided_in_period(self, kind: AlertKind, symbol: str, period: date) -> bool:
        return outbox.decided_in_period(self.db, kind, symbol, period)

    def told(self, kind: AlertKind, symbol: str, param: str) -> frozenset[int]:
        return frozenset(outbox.chats_of_latest(self.db, kind, symbol, param))
