"""Replay of the shipped 2025 data: what the bot would have seen, when it would have seen it."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock, SimulatedClock
from bot.config import SHIPPED_REPLAY_DATA
from bot.sources.base import EarningsSource, MarketSource, UnknownSymbol
from bot.sources.replay import BarClosed, ReplaySource
from bot.sources.replay_data import (
    ReplayData,
    ReplayDataError,
    canonical_symbol,
    load_replay_data,
    parse_bar_file_name,
)

EQUITIES = ("AMD", "NVDA", "ORCL", "QQQ")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> ReplayData:
    return load_replay_data(SHIPPED_REPLAY_DATA)


@pytest.fixture(scope="module")
def replay(data: ReplayData) -> ReplaySource:
    """A source for event checks only: its clock is never moved."""
    return ReplaySource(data, ManualClock(utc("2025-01-01T00:00")))


@pytest.fixture
def source_at(data: ReplayData):
    """``source_at("2025-12-11T15:00")`` -> a source whose stepped clock shows that moment."""

    def make(when: str) -> ReplaySource:
        return ReplaySource(data, ManualClock(utc(when)))

    return make


def copy_of(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "replay"
    folder.mkdir()
    for name in names:
        shutil.copy(SHIPPED_REPLAY_DATA / name, folder / name)
    return folder


# --- loading -------------------------------------------------------------------------


def test_shipped_data_loads_quickly_with_every_symbol(data: ReplayData):
    started = time.perf_counter()
    again = load_replay_data()
    assert time.perf_counter() - started < 1.0
    assert again.symbols == ("AMD", "BTC", "NVDA", "ORCL", "QQQ")
    assert again.crypto == {"BTC"}
    counts = {key: len(bars) for key, bars in again.bars.items()}
    assert counts == {("BTC", "1d"): 365, ("BTC", "1h"): 4504, **{(s, "1d"): 250 for s in EQUITIES}}


def test_bars_are_sorted_utc_and_daily_bars_start_at_midnight(data: ReplayData):
    for (symbol, interval), bars in data.bars.items():
        assert [b.ts for b in bars] == sorted({b.ts for b in bars}), symbol
        assert all(b.ts.utcoffset() == timedelta(0) and b.symbol == symbol for b in bars)
        if interval == "1d":
            assert all((b.ts.hour, b.ts.minute) == (0, 0) for b in bars)


@pytest.mark.parametrize(
    ("name", "symbol"),
    [("BTC-USD", "BTC"), ("NVDA", "NVDA"), ("eth-usd", "ETH"), (" qqq ", "QQQ"), ("BTC", "BTC")],
)
def test_file_names_map_to_the_bots_symbols(name: str, symbol: str):
    assert canonical_symbol(name) == symbol


@pytest.mark.parametrize(
    ("file_name", "parsed"),
    [
        ("BTC-USD_1h.csv", ("BTC-USD", "1h")),
        ("NVDA_1d.csv", ("NVDA", "1d")),
        ("earnings_dates.csv", None),
        ("BTC-USD_1h.provenance.txt", None),
        ("BTC_5m.csv", None),
    ],
)
def test_only_bar_files_are_read_as_bars(file_name: str, parsed):
    assert parse_bar_file_name(file_name) == parsed


def test_earnings_dates_load_with_their_timing(data: ReplayData):
    found = {(e.symbol, e.report_date, e.timing) for e in data.earnings}
    assert len(found) == 12  # every 2025 report of AMD, NVDA and ORCL (SOURCES.md)
    assert {("ORCL", date(2025, 12, 10), "after_close"), ("NVDA", date(2025, 11, 19), "after_close")} <= found
    assert {symbol for symbol, _, _ in found} == {"AMD", "NVDA", "ORCL"}
    assert {timing for _, _, timing in found} == {"after_close"}


def test_a_folder_with_one_symbol_loads_and_replays(tmp_path: Path):
    folder = copy_of(tmp_path, "ORCL_1d.csv")
    loaded = load_replay_data(folder)
    assert loaded.symbols == ("ORCL",)
    assert loaded.earnings == ()
    source = ReplaySource(loaded, ManualClock(utc("2025-12-11T21:00")))
    [quote] = asyncio.run(source.fetch_quotes(["ORCL"]))
    assert quote.price == pytest.approx(196.95, abs=0.01)


def test_extra_columns_and_blank_lines_are_ignored(tmp_path: Path):
    folder = tmp_path / "replay"
    folder.mkdir()
    (folder / "NVDA_1d.csv").write_text(
        "date,open,high,low,close,volume,note\n2025-12-11,180,182,178,181,100,quiet\n\n2025-12-10,179,181,177,180,,\n"
    )
    bars = load_replay_data(folder).series("NVDA", "1d")
    assert [(b.ts.date().isoformat(), b.close, b.volume) for b in bars] == [
        ("2025-12-10", 180.0, None),
        ("2025-12-11", 181.0, 100.0),
    ]


@pytest.mark.parametrize(
    ("make_folder", "message"),
    [
        (lambda tmp: tmp / "nowhere", "does not exist"),
        (lambda tmp: tmp, "no bar files"),
    ],
    ids=["missing", "empty"],
)
def test_unusable_folder_is_named_in_the_error(tmp_path: Path, make_folder, message: str):
    folder = make_folder(tmp_path)
    with pytest.raises(ReplayDataError, match=message) as raised:
        load_replay_data(folder)
    assert str(folder) in str(raised.value)


@pytest.mark.parametrize(
    ("file_name", "line", "bad_row", "reason"),
    [
        ("ORCL_1d.csv", 238, "2025-12-11,188.7989,abc,184.4509,196.9503,100612700.0", "positive numbers"),
        ("ORCL_1d.csv", 238, "2025-12-11,188.7989,180.0,184.4509,196.9503,100612700.0", "do not bracket"),
        ("ORCL_1d.csv", 238, "11/12/2025,188.7989,200.0603,184.4509,196.9503,100612700.0", "YYYY-MM-DD"),
        ("ORCL_1d.csv", 238, "2025-12-10,188.7989,200.0603,184.4509,196.9503,100612700.0", "duplicate date"),
        ("ORCL_1d.csv", 238, "2025-12-11,188.7989,200.0603,184.4509,196.9503,-5", "volume must be"),
        ("BTC-USD_1h.csv", 3, "2025-05-13T01:30:00Z,1,1,1,1,1,1", "not on the hour"),
    ],
    ids=["not-a-number", "high-below-close", "date-format", "duplicate", "negative-volume", "off-the-hour"],
)
def test_a_malformed_row_is_reported_with_file_and_line(tmp_path, file_name, line, bad_row, reason):
    folder = copy_of(tmp_path, file_name)
    path = folder / file_name
    lines = path.read_text().splitlines()
    lines[line - 1] = bad_row
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReplayDataError) as raised:
        load_replay_data(folder)
    message = str(raised.value)
    assert file_name in message and f"line {line}:" in message and reason in message


def test_a_missing_column_is_named(tmp_path: Path):
    folder = tmp_path / "replay"
    folder.mkdir()
    (folder / "AMD_1d.csv").write_text("date,open,high,close\n2025-12-11,1,2,1.5\n")
    with pytest.raises(ReplayDataError, match=r"AMD_1d.csv: missing column\(s\) low"):
        load_replay_data(folder)


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        ("after_close", "after_close"),
        ("AMC", "after_close"),
        ("before_open", "before_open"),
        ("bmo", "before_open"),
        ("", "unknown"),
        ("unknown", "unknown"),
    ],
)
def test_earnings_timing_is_mapped(tmp_path: Path, timing: str, expected: str):
    folder = copy_of(tmp_path, "AMD_1d.csv")
    (folder / "earnings_dates.csv").write_text(f"symbol,report_date,timing\nAMD,2025-11-04,{timing}\n")
    [earnings] = load_replay_data(folder).earnings
    assert (earnings.symbol, earnings.report_date, earnings.timing) == ("AMD", date(2025, 11, 4), expected)


def test_unknown_earnings_timing_is_an_error(tmp_path: Path):
    folder = copy_of(tmp_path, "AMD_1d.csv")
    (folder / "earnings_dates.csv").write_text("symbol,report_date,timing\nAMD,2025-11-04,lunchtime\n")
    expected = r"earnings_dates.csv: 1 bad row\(s\): line 2: timing 'lunchtime'"
    with pytest.raises(ReplayDataError, match=expected):
        load_replay_data(folder)


def test_equity_bar_on_a_holiday_is_refused(tmp_path: Path):
    folder = tmp_path / "replay"
    folder.mkdir()
    (folder / "NVDA_1d.csv").write_text("date,open,high,low,close,volume\n2025-12-25,1,1,1,1,1\n")
    expected = "NVDA has a 1d bar on 2025-12-25, but .* not an NYSE trading day"
    with pytest.raises(ReplayDataError, match=expected):
        ReplaySource.from_folder(ManualClock(utc("2025-12-26T00:00")), folder)


# --- events --------------------------------------------------------------------------


def test_events_come_in_time_order_across_symbols(replay: ReplaySource):
    events = list(replay.events())
    assert len(events) == 365 + 4504 + 4 * 250
    keys = [(e.at, e.bar.symbol, ["1h", "1d"].index(e.bar.interval)) for e in events]
    assert keys == sorted(keys)
    assert {e.bar.symbol for e in events} == {"BTC", *EQUITIES}


def test_simultaneous_closes_are_ordered_by_symbol_then_interval(replay: ReplaySource):
    day = [
        (e.at.isoformat(), e.bar.symbol, e.bar.interval)
        for e in replay.events(utc("2025-12-11T00:00"), utc("2025-12-12T00:01"))
    ]
    assert day == [
        ("2025-12-11T00:00:00+00:00", "BTC", "1d"),
        *[("2025-12-11T21:00:00+00:00", s, "1d") for s in EQUITIES],
        ("2025-12-12T00:00:00+00:00", "BTC", "1d"),
    ]
    midnight = replay.events(utc("2025-11-20T00:00"), utc("2025-11-20T00:01"))
    assert [(e.bar.symbol, e.bar.interval) for e in midnight] == [("BTC", "1h"), ("BTC", "1d")]
    assert list(replay.events(utc("2025-12-01"))) == list(replay.events(utc("2025-12-01")))


@pytest.mark.parametrize("day", ["2025-12-25", "2025-11-27", "2025-12-06", "2025-12-07", "2025-01-09"])
def test_no_equity_bars_on_days_the_nyse_was_shut(replay: ReplaySource, day: str):
    that_day = [e.bar for e in replay.events() if e.bar.ts.date().isoformat() == day]
    assert {b.symbol for b in that_day} == {"BTC"}


@pytest.mark.parametrize(
    ("day", "close_utc"),
    [
        ("2025-12-24", "2025-12-24T18:00"),  # half day: 13:00 New York
        ("2025-11-28", "2025-11-28T18:00"),  # half day after Thanksgiving
        ("2025-12-11", "2025-12-11T21:00"),  # 16:00 EST
        ("2025-07-03", "2025-07-03T17:00"),  # half day in summer time: 13:00 EDT
        ("2025-03-10", "2025-03-10T20:00"),  # 16:00 EDT, first day of summer time
    ],
)
def test_each_equity_bar_appears_at_its_session_close(replay: ReplaySource, day: str, close_utc: str):
    seen = [e for e in replay.events() if e.bar.symbol != "BTC" and e.bar.ts.date().isoformat() == day]
    assert [e.bar.symbol for e in seen] == list(EQUITIES)
    assert {e.at for e in seen} == {utc(close_utc)}


def test_btc_bars_appear_when_their_hour_or_day_is_over(replay: ReplaySource):
    btc = [e for e in replay.events(utc("2025-11-01"), utc("2025-12-31")) if e.bar.symbol == "BTC"]
    assert {e.bar.interval for e in btc} == {"1h", "1d"}
    for event in btc:
        span = timedelta(hours=1) if event.bar.interval == "1h" else timedelta(days=1)
        assert event.at == event.bar.ts + span


def test_events_are_frozen_dataclasses(replay: ReplaySource):
    event = next(replay.events())
    assert isinstance(event, BarClosed)
    with pytest.raises(AttributeError):
        event.at = utc("2030-01-01")  # type: ignore[misc]


# --- no lookahead ---------------------------------------------------------------------


async def test_orcl_earnings_gap_is_hidden_until_the_session_closes(source_at):
    before = source_at("2025-12-11T15:00")  # 10:00 in New York: the gap-down session is running
    bars = await before.fetch_bars("ORCL", "1d", since=utc("2025-12-01"))
    assert bars[-1].ts == utc("2025-12-10T00:00")
    [quote] = await before.fetch_quotes(["ORCL"])
    assert (quote.price, quote.ts) == (pytest.approx(220.88, abs=0.01), utc("2025-12-10T21:00"))

    after = source_at("2025-12-11T21:00")
    bars = await after.fetch_bars("ORCL", "1d", since=utc("2025-12-10"))
    assert [b.ts.date().isoformat() for b in bars] == ["2025-12-10", "2025-12-11"]
    assert bars[-1].open == pytest.approx(188.80, abs=0.01)
    assert bars[0].close == pytest.approx(220.88, abs=0.01)
    [quote] = await after.fetch_quotes(["ORCL"])
    assert quote.price == pytest.approx(196.95, abs=0.01)
    assert quote.change_24h_pct == pytest.approx((196.9503 / 220.8795 - 1) * 100)


async def test_btc_december_11_daily_bar_shows_the_dip_below_90k_after_midnight(source_at):
    assert await source_at("2025-12-11T23:59").fetch_bars("BTC", "1d", since=utc("2025-12-11")) == []
    source = source_at("2025-12-12T06:00")
    [bar] = await source.fetch_bars("BTC", "1d", since=utc("2025-12-11"), until=utc("2025-12-12"))
    assert (bar.open, bar.high, bar.low, bar.close) == (92019.8, 93561.8, 89281.4, 92541.0)
    [quote] = await source.fetch_quotes(["BTC"])
    assert (quote.price, quote.ts, quote.source) == (92541.0, utc("2025-12-12T00:00"), "replay")
    assert quote.change_24h_pct == pytest.approx((92541.0 / 92019.8 - 1) * 100)
    assert await source.fetch_bars("BTC", "1h", since=utc("2025-12-01")) == []


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2024, 12, 30), max_value=datetime(2026, 1, 2)))
def test_nothing_returned_closes_after_now(data: ReplayData, naive_now: datetime):
    now = naive_now.replace(tzinfo=UTC)
    source = ReplaySource(data, ManualClock(now))
    closes = {e.bar: e.at for e in source.events()}
    for symbol in data.symbols:
        for interval in ("1h", "1d"):
            bars = asyncio.run(source.fetch_bars(symbol, interval, since=now - timedelta(days=5)))
            assert all(closes[b] <= now for b in bars)
            later = [b for b in data.series(symbol, interval) if b.ts > (bars[-1].ts if bars else now)]
            assert not bars or not later or closes[later[0]] > now
    quotes = asyncio.run(source.fetch_quotes(data.symbols))
    assert all(q.ts <= now and q.fetched_at == now for q in quotes)


# --- quotes -----------------------------------------------------------------------------


async def test_quotes_follow_the_clock(data: ReplayData):
    clock = ManualClock(utc("2025-11-22T12:30"))
    source = ReplaySource(data, clock)
    [quote] = await source.fetch_quotes(["BTC"])  # hourly data: the 11:00 bar closed at 12:00
    hourly = {b.ts: b for b in data.series("BTC", "1h")}
    assert (quote.ts, quote.price) == (utc("2025-11-22T12:00"), hourly[utc("2025-11-22T11:00")].close)
    day_before = hourly[utc("2025-11-21T11:00")].close
    assert quote.change_24h_pct == pytest.approx((quote.price / day_before - 1) * 100)

    clock.set(utc("2025-12-24T17:59"))
    quotes = {q.symbol: q for q in await source.fetch_quotes(["BTC", "NVDA"])}
    assert quotes["NVDA"].ts == utc("2025-12-23T21:00")
    assert quotes["BTC"].ts == utc("2025-12-24T00:00")  # no hourly data in December: daily bars
    clock.set(utc("2025-12-24T18:00"))
    [nvda] = await source.fetch_quotes(["NVDA"])
    assert nvda.ts == utc("2025-12-24T18:00")
    assert nvda.fetched_at == utc("2025-12-24T18:00")


async def test_monday_change_is_against_fridays_close(source_at, data: ReplayData):
    [quote] = await source_at("2025-12-15T22:00").fetch_quotes(["QQQ"])
    closes = {b.ts.date().isoformat(): b.close for b in data.series("QQQ", "1d")}
    assert quote.change_24h_pct == pytest.approx((closes["2025-12-15"] / closes["2025-12-12"] - 1) * 100)


async def test_a_simulated_clock_drives_the_source(data: ReplayData):
    real = [0.0]
    clock = SimulatedClock(utc("2025-12-11T20:00"), speed=3600, monotonic=lambda: real[0])
    source = ReplaySource(data, clock)
    [quote] = await source.fetch_quotes(["ORCL"])
    assert quote.ts == utc("2025-12-10T21:00")
    real[0] = 1.0  # one real second = one simulated hour
    [quote] = await source.fetch_quotes(["ORCL"])
    assert quote.ts == utc("2025-12-11T21:00")


@pytest.mark.parametrize(
    ("symbols", "when", "error"),
    [
        (["TSLA"], "2025-12-11T21:00", UnknownSymbol),
        (["TSLA", "MSFT"], "2025-12-11T21:00", UnknownSymbol),
    ],
)
async def test_quote_errors(source_at, symbols, when, error):
    with pytest.raises(error):
        await source_at(when).fetch_quotes(symbols)


@pytest.mark.parametrize(("symbols", "when"), [(["NVDA"], "2025-01-02T20:59"), (["NVDA", "TSLA"], "2024-12-31T12:00")])
async def test_nothing_to_quote_before_the_recorded_series_starts(source_at, symbols, when):
    assert await source_at(when).fetch_quotes(symbols) == []


async def test_unknown_symbols_are_left_out_of_a_batch(source_at):
    quotes = await source_at("2025-12-11T21:00").fetch_quotes(["TSLA", "BTC-USD", "nvda"])
    assert [q.symbol for q in quotes] == ["BTC", "NVDA"]
    assert await source_at("2025-12-11T21:00").fetch_quotes([]) == []


async def test_bars_for_an_unknown_symbol_raise(source_at):
    with pytest.raises(UnknownSymbol, match="TSLA"):
        await source_at("2025-12-11T21:00").fetch_bars("TSLA", "1d", since=utc("2025-12-01"))


async def test_bars_range_is_start_inclusive_end_exclusive(source_at):
    source = source_at("2025-11-30T00:00")
    bars = await source.fetch_bars("BTC", "1h", since=utc("2025-11-20T10:00"), until=utc("2025-11-20T13:00"))
    assert [b.ts.hour for b in bars] == [10, 11, 12]
    with pytest.raises(ValueError, match="timezone-aware"):
        await source.fetch_bars("BTC", "1h", since=datetime(2025, 11, 20))


async def test_earnings_and_protocols(source_at):
    source = source_at("2025-11-01T00:00")
    assert isinstance(source, MarketSource) and isinstance(source, EarningsSource)
    assert source.name == "replay"
    upcoming = await source.fetch_earnings(["ORCL", "AMD"])  # as of 1 Nov: what is known then
    assert [(e.symbol, e.report_date) for e in upcoming if e.report_date >= date(2025, 11, 1)] == [
        ("AMD", date(2025, 11, 4)),
        ("ORCL", date(2025, 12, 10)),
    ]
    symbols = [e.symbol for e in await source.fetch_earnings(["NVDA", "ORCL"])]
    assert symbols == sorted(symbols) and set(symbols) == {"NVDA", "ORCL"}
    await source.close()


# --- clocks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("speed", "real_seconds", "simulated"),
    [
        (1, 10, timedelta(seconds=10)),
        (60, 10, timedelta(minutes=10)),
        (3600, 24, timedelta(days=1)),
        (0.5, 10, timedelta(seconds=5)),
    ],
)
def test_simulated_clock_runs_at_its_speed(speed, real_seconds, simulated):
    real = [1000.0]
    clock = SimulatedClock(utc("2025-12-01T00:00"), speed=speed, monotonic=lambda: real[0])
    assert clock.now() == utc("2025-12-01T00:00")
    real[0] += real_seconds
    assert clock.now() == utc("2025-12-01T00:00") + simulated
    assert clock.real_seconds_until(clock.now() + simulated) == pytest.approx(real_seconds)
    assert clock.real_seconds_until(utc("2025-11-01T00:00")) == 0


@pytest.mark.parametrize(("start", "speed"), [(datetime(2025, 12, 1), 1.0), (utc("2025-12-01T00:00"), 0)])
def test_simulated_clock_refuses_bad_settings(start, speed):
    with pytest.raises(ValueError):
        SimulatedClock(start, speed=speed, monotonic=lambda: 0.0)
