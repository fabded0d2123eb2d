"""Price history in SQLite: idempotent bar upserts, quotes, earnings, restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain import Bar, EarningsDate, Quote
from bot.store import market as store
from bot.store import open_db

T0 = datetime(2025, 12, 11, tzinfo=UTC)


def bar(day: int, close: float, symbol: str = "BTC", interval: str = "1d") -> Bar:
    ts = datetime(2025, 12, day, tzinfo=UTC)
    return Bar(symbol, interval, ts, close, close * 1.01, close * 0.99, close, 10.0, "test")


def test_bars_upsert_is_idempotent_and_corrects_a_bar(tmp_path):
    db = open_db(tmp_path / "bot.db")
    store.upsert_bars(db, [bar(10, 92000), bar(11, 92541)])
    store.upsert_bars(db, [bar(11, 92541), bar(11, 92600)])  # same key twice: last one wins
    bars = store.load_bars(db, "BTC", "1d")
    assert [(b.ts.day, b.close) for b in bars] == [(10, 92000), (11, 92600)]
    assert bars[0].ts.tzinfo is not None


def test_history_survives_a_restart_and_tells_where_the_gap_starts(tmp_path):
    db = open_db(tmp_path / "bot.db")
    store.upsert_bars(db, [bar(d, 90000 + d) for d in range(1, 12)])
    db.close()
    db = open_db(tmp_path / "bot.db")
    assert store.last_bar_time(db, "BTC", "1d") == datetime(2025, 12, 11, tzinfo=UTC)
    assert store.last_bar_time(db, "BTC", "1h") is None
    window = store.load_bars(
        db, "BTC", "1d", since=datetime(2025, 12, 5, tzinfo=UTC), until=datetime(2025, 12, 8, tzinfo=UTC)
    )
    assert [b.ts.day for b in window] == [5, 6, 7]


def test_latest_quote_per_symbol(tmp_path):
    db = open_db(tmp_path / "bot.db")

    def q(sym: str, price: float, minutes: int) -> Quote:
        at = T0 + timedelta(minutes=minutes)
        return Quote(sym, price, at, "binance", at)

    store.insert_quotes(db, [q("BTC", 90100, 0), q("BTC", 89900, 1), q("NVDA", 180.9, 0)])
    latest = store.latest_quotes(db)
    assert latest["BTC"].price == 89900 and latest["NVDA"].price == 180.9
    assert set(store.latest_quotes(db, ["NVDA"])) == {"NVDA"}
    assert store.prune_quotes(db, timedelta(seconds=30), T0 + timedelta(minutes=1)) == 2


def test_earnings_upsert_keeps_known_timing(tmp_path):
    db = open_db(tmp_path / "bot.db")
    store.upsert_earnings(db, [EarningsDate("ORCL", date(2025, 12, 10), "after_close", "replay")], T0)
    store.upsert_earnings(db, [EarningsDate("ORCL", date(2025, 12, 10), "unknown", "yfinance")], T0)
    [orcl] = store.load_earnings(db, ["ORCL"])
    assert orcl.timing == "after_close" and orcl.source == "yfinance"
    assert store.load_earnings(db, since=date(2025, 12, 11)) == []
