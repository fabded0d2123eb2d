"""Price history and earnings dates: bars upserted idempotently, quotes with source and fetch time.

Timestamps are stored as ISO-8601 UTC text, which sorts in time order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.domain import Bar, EarningsDate, Interval, Quote
from bot.store.db import utcnow_iso


def _iso(when: datetime) -> str:
    return utcnow_iso(when)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def upsert_bars(db: Database, bars: Iterable[Bar]) -> int:
    """Insert or replace bars on (symbol, interval, ts); returns how many were written."""
    rows = [(b.symbol, b.interval, _iso(b.ts), b.open, b.high, b.low, b.close, b.volume, b.source) for b in bars]
    if rows:
        with db.atomic():
            db.conn.executemany(
                """
                INSERT INTO bars (symbol, interval, ts, open, high, low, close, volume, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(symbol, interval, ts) DO UPDATE SET
                    open = excluded.open, high = excluded.high, low = excluded.low,
                    close = excluded.close, volume = excluded.volume, source = excluded.source
                """,
                rows,
            )
    return len(rows)


_BAR_COLUMNS = "symbol, interval, ts, open, high, low, close, volume, source"


def _row_to_bar(row: Sequence[Any]) -> Bar:
    symbol, interval, ts, o, h, lo, c, v, source = row
    return Bar(symbol, interval, _dt(ts), o, h, lo, c, v, source)


def load_bars(
    db: Database,
    symbol: str,
    interval: Interval,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Bar]:
    """Stored bars of one series with ``since <= ts < until``, oldest first."""
    sql = f"SELECT {_BAR_COLUMNS} FROM bars WHERE symbol = ? AND interval = ?"
    params: list[Any] = [symbol, interval]
    if since is not None:
        sql += " AND ts >= ?"
        params.append(_iso(since))
    if until is not None:
        sql += " AND ts < ?"
        params.append(_iso(until))
    return [_row_to_bar(r) for r in db.execute(sql + " ORDER BY ts", params)]


def last_bar_time(db: Database, symbol: str, interval: Interval) -> datetime | None:
    row = db.execute("SELECT max(ts) FROM bars WHERE symbol = ? AND interval = ?", [symbol, interval]).fetchone()
    return _dt(row[0]) if row and row[0] else None


def insert_quotes(db: Database, quotes: Iterable[Quote]) -> int:
    rows = [(q.symbol, q.price, _iso(q.ts), q.source, _iso(q.fetched_at), q.change_24h_pct, q.market) for q in quotes]
    if rows:
        with db.atomic():
            db.conn.executemany(
                "INSERT INTO quotes (symbol, price, ts, source, fetched_at, change_24h_pct, market)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)


def _row_to_quote(row: Sequence[Any]) -> Quote:
    symbol, price, ts, source, fetched_at, change, venue_market = row
    return Quote(symbol, price, _dt(ts), source, _dt(fetched_at), change, venue_market)


def latest_quotes(db: Database, symbols: Sequence[str] | None = None) -> dict[str, Quote]:
    """The most recently fetched quote of each symbol (all symbols if ``symbols`` is None)."""
    sql = """
        SELECT symbol, price, ts, source, fetched_at, change_24h_pct, market FROM quotes q
        WHERE id = (SELECT id FROM quotes WHERE symbol = q.symbol ORDER BY fetched_at DESC, id DESC LIMIT 1)
    """
    params: list[Any] = []
    if symbols is not None:
        sql += f" AND symbol IN ({','.join('?' * len(symbols))})"
        params = list(symbols)
    return {quote.symbol: quote for quote in map(_row_to_quote, db.execute(sql, params))}


def prune_quotes(db: Database, keep: timedelta, now: datetime) -> int:
    """Drop quotes fetched more than ``keep`` ago, and 1-minute candles as old (the hourly and
    daily bars hold the history)."""
    with db.atomic():
        db.execute("DELETE FROM bars WHERE interval = '1m' AND ts < ?", [_iso(now - keep)])
        return db.execute("DELETE FROM quotes WHERE fetched_at < ?", [_iso(now - keep)]).rowcount


def upsert_earnings(db: Database, dates: Iterable[EarningsDate], fetched_at: datetime) -> int:
    rows = [(e.symbol, e.report_date.isoformat(), e.timing, e.source, _iso(fetched_at)) for e in dates]
    if rows:
        with db.atomic():
            db.conn.executemany(
                """
                INSERT INTO earnings (symbol, report_date, timing, source, fetched_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(symbol, report_date) DO UPDATE SET
                    timing = CASE WHEN excluded.timing = 'unknown' THEN earnings.timing ELSE excluded.timing END,
                    source = excluded.source, fetched_at = excluded.fetched_at
                """,
                rows,
            )
    return len(rows)


def load_earnings(db: Database, symbols: Sequence[str] | None = None, since: date | None = None) -> list[EarningsDate]:
    sql = "SELECT symbol, report_date, timing, source FROM earnings WHERE 1 = 1"
    params: list[Any] = []
    if symbols is not None:
        sql += f" AND symbol IN ({','.join('?' * len(symbols))})"
        params += list(symbols)
    if since is not None:
        sql += " AND report_date >= ?"
        params.append(since.isoformat())
    rows = db.execute(sql + " ORDER BY report_date, symbol", params)
    return [EarningsDate(symbol, date.fromisoformat(day), timing, source) for symbol, day, timing, source in rows]


def quote_prices(db: Database, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, float]]:
    """The quotes of ``symbol`` in ``[since, until]`` as (time, price), oldest first."""
    rows = db.execute(
        "SELECT ts, price FROM quotes WHERE symbol = ? AND ts >= ? AND ts <= ? ORDER BY ts",
        [symbol, _iso(since), _iso(until)],
    )
    return [(_dt(ts), price) for ts, price in rows]


def first_quote_since(db: Database, symbol: str, since: datetime) -> Quote | None:
    row = db.execute(
        "SELECT symbol, price, ts, source, fetched_at, change_24h_pct, market FROM quotes"
        " WHERE symbol = ? AND ts >= ? ORDER BY ts LIMIT 1",
        [symbol, _iso(since)],
    ).fetchone()
    return _row_to_quote(row) if row else None
