"""EquitySource runs yfinance's real code against a fake Yahoo on 127.0.0.1.

Prices are real 2025 daily values (bot/data/market_2025); intraday bars are derived
from them (see tests/fakes/yahoo.py). The fake's clock and the source's clock move
together; yfinance itself still reads the wall clock, which the fake ignores.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yfinance as yf

from bot.clock import ManualClock
from bot.domain import Bar, EarningsDate
from bot.health import HealthRegistry
from bot.sources.base import EarningsSource, MarketSource, SourceUnavailable, UnknownSymbol
from bot.sources.equities import EquitySource
from tests.fakes.yahoo import FakeYahoo, reset_yfinance_state

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_NOW = datetime(2025, 12, 11, 15, 0, tzinfo=UTC)  # 10:00 New York on ORCL's gap day
WATCHLIST = ["NVDA", "AMD", "ORCL", "QQQ"]
ORCL_CLOSE_DEC_10 = 220.8795  # the close before the earnings gap
ORCL_OPEN_DEC_11 = 188.7989
ORCL_CLOSE_DEC_11 = 196.9503


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="session")
def yf_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("yfinance-cache")


@pytest.fixture
def start_at() -> datetime:
    """When each test starts; a test overrides it with ``@pytest.mark.parametrize("start_at", ...)``."""
    return DEFAULT_NOW


@pytest.fixture
def fake(start_at):
    reset_yfinance_state()
    fake = FakeYahoo(now=start_at).start()
    yield fake
    fake.stop()
    assert fake.unexpected == [], f"yfinance asked for endpoints the fake does not serve: {fake.unexpected}"


@pytest.fixture
def clock(fake):
    return ManualClock(fake.now)


@pytest.fixture
def health():
    return HealthRegistry()


@pytest.fixture
def source(fake, clock, health, yf_cache):
    return EquitySource(session=fake.session(), health=health, clock=clock, cache_dir=yf_cache)


@pytest.fixture
def downloads(monkeypatch):
    """Every ``yf.download`` call (tickers, interval); the real download still runs."""
    calls: list[tuple[list[str], str]] = []
    real = yf.download

    def spy(tickers, *args, **kwargs):
        calls.append((sorted(tickers), kwargs["interval"]))
        return real(tickers, *args, **kwargs)

    monkeypatch.setattr(yf, "download", spy)
    return calls


def move_to(fake: FakeYahoo, clock: ManualClock, when: datetime) -> None:
    fake.now = when
    clock.set(when)


def warnings_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_implements_the_source_protocols(source):
    assert isinstance(source, MarketSource)
    assert isinstance(source, EarningsSource)
    assert source.name == "yfinance"


# -- quotes --------------------------------------------------------------------------------


async def test_one_batched_download_per_poll_prices_the_watchlist(source, fake, clock, downloads, health):
    quotes = await source.fetch_quotes(WATCHLIST)

    assert downloads == [(sorted(WATCHLIST), "1m")]
    assert sorted(r.symbol for r in fake.price_requests("1m")) == sorted(WATCHLIST)  # one chart each
    assert sorted(q.symbol for q in quotes) == sorted(WATCHLIST)
    orcl = next(q for q in quotes if q.symbol == "ORCL")
    # 10:00 New York on the gap day: the last minute bar started at 09:59.
    assert orcl.ts == utc(2025, 12, 11, 14, 59)
    assert orcl.fetched_at == clock.now()
    assert 184.45 <= orcl.price <= 200.07  # inside the real Dec 11 range
    assert orcl.change_24h_pct == pytest.approx((orcl.price / ORCL_CLOSE_DEC_10 - 1) * 100)
    assert health.source("yfinance").up

    move_to(fake, clock, utc(2025, 12, 11, 21, 5))  # the one poll after the close
    quotes = {q.symbol: q for q in await source.fetch_quotes(WATCHLIST)}

    assert len(downloads) == 2  # still one download per poll
    assert quotes["ORCL"].price == pytest.approx(ORCL_CLOSE_DEC_11)
    assert quotes["ORCL"].ts == utc(2025, 12, 11, 20, 59)
    assert quotes["ORCL"].change_24h_pct == pytest.approx(-10.83, abs=0.01)


@pytest.mark.parametrize("start_at", [utc(2025, 11, 28, 18, 30)])  # after the half-day close
async def test_previous_close_comes_from_the_previous_trading_day_across_a_holiday(source, fake):
    # Friday after Thanksgiving (a half day): the previous close is Wednesday's.
    nvda = fake.daily["NVDA"]
    wednesday, friday = (next(r for r in nvda if r.day == date(2025, 11, d)) for d in (26, 28))

    [quote] = await source.fetch_quotes(["NVDA"])

    assert quote.ts == utc(2025, 11, 28, 17, 59)  # last minute before the 13:00 close
    assert quote.price == pytest.approx(friday.close)
    assert quote.change_24h_pct == pytest.approx((friday.close / wednesday.close - 1) * 100)


async def test_a_ticker_with_only_nan_values_is_left_out_and_logged_once(source, fake, caplog):
    fake.all_nan = {"ORCL"}

    quotes = await source.fetch_quotes(["NVDA", "ORCL"])

    assert [q.symbol for q in quotes] == ["NVDA"]
    assert all(math.isfinite(q.price) and math.isfinite(q.change_24h_pct) for q in quotes)  # never NaN
    [warning] = warnings_logged(caplog)
    assert "no data for ORCL" in warning.getMessage()
    assert warning.exc_info is None


async def test_only_nan_values_for_every_ticker_is_unavailable(source, fake, health):
    fake.all_nan = set(WATCHLIST)

    with pytest.raises(SourceUnavailable, match="no data for"):
        await source.fetch_quotes(WATCHLIST)
    assert not health.source("yfinance").up


async def test_an_unknown_ticker_in_the_watchlist_is_left_out(source, caplog):
    quotes = await source.fetch_quotes(["NVDA", "ZZZZ"])

    assert [q.symbol for q in quotes] == ["NVDA"]
    assert any("no data for ZZZZ" in r.getMessage() for r in warnings_logged(caplog))


async def test_a_single_unknown_ticker_is_an_unknown_symbol(source, health):
    with pytest.raises(UnknownSymbol, match="ZZZZ"):
        await source.fetch_quotes(["ZZZZ"])
    with pytest.raises(UnknownSymbol):
        await source.fetch_bars("ZZZZ", "1d", utc(2025, 12, 1))
    assert health.source("yfinance").failing_since is None  # Yahoo answered; the symbol is wrong


async def test_an_empty_answer_is_unavailable_not_unknown(source, fake, health):
    fake.empty = {"NVDA"}

    with pytest.raises(SourceUnavailable, match="no data for NVDA"):
        await source.fetch_quotes(["NVDA"])
    assert health.source("yfinance").last_error == "yfinance: no data for NVDA"


async def test_rate_limit_is_unavailable_recorded_and_logged_in_one_line(source, fake, health, clock, caplog):
    fake.rate_limited = True

    with pytest.raises(SourceUnavailable, match="rate limited"):
        await source.fetch_quotes(WATCHLIST)

    state = health.source("yfinance")
    assert (state.up, state.last_error, state.last_error_at) == (False, "yfinance: rate limited", clock.now())
    [warning] = warnings_logged(caplog)  # yfinance's own ERROR lines do not reach the log
    assert warning.getMessage() == "yfinance: rate limited"
    assert warning.exc_info is None


async def test_yahoo_down_is_unavailable_never_unknown(source, fake, health):
    fake.stop()  # connections to the fake's port are now refused

    with pytest.raises(SourceUnavailable, match="no data for"):
        await source.fetch_quotes(WATCHLIST)
    with pytest.raises(SourceUnavailable, match="unreachable"):
        await source.validate_symbol("NVDA")  # /watch add must say "try later", not "no such ticker"
    assert not health.source("yfinance").up


@pytest.mark.parametrize("start_at", [utc(2025, 10, 3, 20, 5)])  # after the close on Friday 2025-10-03
async def test_a_jump_past_the_limit_is_held_back_until_it_lasts_five_minutes(source, fake, clock, caplog):
    [friday] = await source.fetch_quotes(["AMD"])
    assert friday.price == pytest.approx(164.67)

    # Monday 2025-10-06: AMD opened at 226.45 (+37.5 %), beyond the 20 % a bad print is assumed at.
    move_to(fake, clock, utc(2025, 10, 6, 13, 32))
    with pytest.raises(SourceUnavailable, match="failed validation"):
        await source.fetch_quotes(["AMD"])

    move_to(fake, clock, utc(2025, 10, 6, 13, 36))  # five minute bars near 226: a real move
    [monday] = await source.fetch_quotes(["AMD"])
    assert monday.price == pytest.approx(226.5, abs=0.3)
    assert monday.change_24h_pct == pytest.approx(37.5, abs=0.3)
    assert any("accepting the move" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("start_at", [utc(2025, 10, 3, 20, 5)])
async def test_a_jump_a_report_explains_is_taken_at_once(source, fake, clock, caplog):
    """The collector tells the source which names reported lately: their gap is the market's
    answer, not a bad print, and goes to the rules with the first price (not five minutes on)."""
    caplog.set_level(logging.INFO, logger="bot.sources")
    await source.fetch_quotes(["AMD"])
    source.explain_jumps(["AMD"])
    move_to(fake, clock, utc(2025, 10, 6, 13, 32))
    [monday] = await source.fetch_quotes(["AMD"])
    assert monday.price == pytest.approx(226.5, abs=1.5) and monday.change_24h_pct > 30
    assert any("taken at once (a report explains it)" in r.getMessage() for r in caplog.records)


def test_a_jump_is_explained_only_while_the_report_is_recent():
    from bot.sources.validate import JumpGuard

    guard = JumpGuard(20.0)
    guard.seed("ORCL", 223.0)
    guard.explain(["ORCL"])  # reported yesterday after the close
    assert guard.accept("ORCL", 190.0) == 190.0  # -15 %: within the limit anyway
    assert guard.accept("ORCL", 140.0) == 140.0  # -26 %: explained, taken at once
    guard.explain([])  # days later: the next such jump is a bad print until it lasts
    assert guard.accept("ORCL", 100.0) is None


# -- bars ----------------------------------------------------------------------------------


async def test_daily_bars_for_many_symbols_in_one_download(source, fake, clock, downloads):
    move_to(fake, clock, utc(2025, 12, 12, 22, 0))

    bars = await source.fetch_bars_many(["NVDA", "ORCL", "QQQ"], "1d", utc(2025, 12, 8), utc(2025, 12, 12))

    assert downloads == [(["NVDA", "ORCL", "QQQ"], "1d")]
    assert sorted(bars) == ["NVDA", "ORCL", "QQQ"]
    orcl = bars["ORCL"]
    assert [b.ts for b in orcl] == [utc(2025, 12, d) for d in (8, 9, 10, 11)]  # 00:00 UTC of each date
    assert orcl[2].close == pytest.approx(ORCL_CLOSE_DEC_10)
    assert orcl[3].open == pytest.approx(ORCL_OPEN_DEC_11)
    assert orcl[3].volume == 100612700
    assert all(isinstance(b, Bar) and b.interval == "1d" and b.source == "yfinance" for b in orcl)


@pytest.mark.parametrize(
    ("day", "first_bar_utc", "bars_in_session"),
    [
        (date(2025, 12, 10), utc(2025, 12, 10, 14, 30), 7),  # 09:30 EST
        (date(2025, 7, 3), utc(2025, 7, 3, 13, 30), 4),  # 09:30 EDT, half day closing 13:00
        (date(2025, 11, 28), utc(2025, 11, 28, 14, 30), 4),  # half day, standard time
    ],
)
async def test_hourly_bars_convert_new_york_to_utc(source, fake, clock, day, first_bar_utc, bars_in_session):
    move_to(fake, clock, utc(2025, 12, 12, 22, 0))
    since = datetime.combine(day, datetime.min.time(), UTC)

    bars = await source.fetch_bars("NVDA", "1h", since, since + timedelta(days=1))

    assert [b.ts for b in bars] == [first_bar_utc + timedelta(hours=i) for i in range(bars_in_session)]
    assert all(b.ts.tzinfo == UTC for b in bars)
    daily = next(r for r in fake.daily["NVDA"] if r.day == day)
    assert bars[0].open == pytest.approx(daily.open)
    assert bars[-1].close == pytest.approx(daily.close)


async def test_hourly_bars_show_the_earnings_gap(source, fake, clock):
    move_to(fake, clock, utc(2025, 12, 11, 16, 0))

    bars = await source.fetch_bars("ORCL", "1h", utc(2025, 12, 10, 20, 0), utc(2025, 12, 11, 15, 0))

    last_before, first_after = bars
    # The 15:30 EST bar closes at the real close, the 09:30 EST bar opens at the real gap-down open.
    assert (last_before.ts, round(last_before.close, 2)) == (utc(2025, 12, 10, 20, 30), 220.88)
    assert (first_after.ts, round(first_after.open, 2)) == (utc(2025, 12, 11, 14, 30), 188.80)


async def test_a_window_without_sessions_asks_yahoo_nothing(source, fake, downloads):
    weekend = await source.fetch_bars_many(["NVDA"], "1d", utc(2025, 12, 6), utc(2025, 12, 8))
    christmas = await source.fetch_bars("NVDA", "1h", utc(2025, 12, 25), utc(2025, 12, 26))

    assert (weekend, christmas) == ({}, [])
    assert downloads == []
    assert fake.chart_requests() == []


# -- symbols and earnings ------------------------------------------------------------------


async def test_validate_symbol(source, fake, health):
    assert await source.validate_symbol(" nvda ") == "NVDA"
    with pytest.raises(UnknownSymbol, match="ZZZZ"):
        await source.validate_symbol("zzzz")

    fake.clear_log()
    with pytest.raises(UnknownSymbol):
        await source.validate_symbol("BTC/USDT")
    assert fake.requests == []  # refused without asking Yahoo

    fake.rate_limited = True
    with pytest.raises(SourceUnavailable, match="rate limited"):
        await source.validate_symbol("AMD")
    assert health.source("yfinance").last_error == "yfinance: rate limited"


async def test_earnings_dates_with_timing(source, fake):
    # Illustrative test data (not real announcements): an upcoming AMD date in the
    # calendar only, and an estimated two-day window for NVDA, which is no report date.
    fake.calendar_events["AMD"] = [datetime(2026, 2, 3, 16, 0, tzinfo=NEW_YORK)]
    fake.calendar_events["NVDA"] = [datetime(2026, 2, d, tzinfo=NEW_YORK) for d in (24, 26)]

    found = await source.fetch_earnings(["ORCL", "NVDA", "QQQ", "AMD"])

    found = sorted(found, key=lambda e: (e.symbol, e.report_date))
    # the real 2025 reports (the fake's earnings page serves the shipped calendar), all after the close
    shipped = [(e.symbol, e.report_date) for e in found if e.report_date.year == 2025]
    assert len(shipped) == 12 and {e.timing for e in found if e.report_date.year == 2025} == {"after_close"}
    assert ("NVDA", date(2025, 11, 19)) in shipped and ("ORCL", date(2025, 12, 10)) in shipped  # page and calendar
    assert [e for e in found if e.report_date.year > 2025] == [
        EarningsDate("AMD", date(2026, 2, 3), "unknown", "yfinance")  # the calendar's next date, no time given
    ]


async def test_earnings_rate_limited_is_unavailable(source, fake, health):
    fake.rate_limited = True

    with pytest.raises(SourceUnavailable, match="rate limited"):
        await source.fetch_earnings(["ORCL", "NVDA"])
    assert not health.source("yfinance").up


async def test_with_a_proxy_set_every_yahoo_request_goes_through_it(clock, health, yf_cache):
    """YAHOO_PROXY reaches curl_cffi, the HTTP stack yfinance uses: a local proxy sees the bot
    ask it for Yahoo (CONNECT, as for any https site) and refuses; the source says Yahoo is
    unavailable, and no request goes anywhere else."""
    seen: list[str] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await reader.readline()).decode().strip())
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    source = EquitySource(proxy=f"http://127.0.0.1:{port}", health=health, clock=clock, cache_dir=yf_cache, timeout=5)
    try:
        with pytest.raises(SourceUnavailable):
            await source.fetch_quotes(["NVDA"])
    finally:
        await source.close()
        server.close()
    assert seen and all(line.startswith("CONNECT ") and ".yahoo.com:443 " in line for line in seen), seen


def test_a_proxy_that_is_not_a_url_is_refused_with_an_example():
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=re.escape("YAHOO_PROXY: must be a proxy URL, e.g. http://127.0.0.1:3128")):
        load_settings(_env_file=None, yahoo_proxy="127.0.0.1:3128")


@pytest.mark.parametrize("start_at", [utc(2025, 12, 10, 21, 30)])  # 16:30 New York, ORCL reported at 16:05
async def test_after_the_close_the_quote_is_the_after_hours_trade_against_the_regular_close(source, fake, clock):
    regular_close = next(r for r in fake.daily["ORCL"] if r.day == date(2025, 12, 10)).close
    fake.extended["ORCL"] = [(utc(2025, 12, 10, 21, 6), 199.0), (utc(2025, 12, 10, 21, 29), 197.5)]

    [quote] = await source.fetch_quotes(["ORCL"])

    assert (quote.price, quote.ts) == (pytest.approx(197.5), utc(2025, 12, 10, 21, 29))
    assert quote.change_24h_pct == pytest.approx((197.5 / ORCL_CLOSE_DEC_10 - 1) * 100)
    assert regular_close == pytest.approx(ORCL_CLOSE_DEC_10)
    assert {r.params.get("includePrePost") for r in fake.price_requests("1m")} == {"true"}

    move_to(fake, clock, utc(2025, 12, 11, 15, 0))  # in the regular session: its own trades only
    fake.clear_log()
    [quote] = await source.fetch_quotes(["ORCL"])
    assert quote.ts == utc(2025, 12, 11, 14, 59)
    assert {r.params.get("includePrePost") for r in fake.price_requests("1m")} <= {None, "false"}
