"""Charts as PNG bytes from the shipped real 2025 bars, and which alerts get one."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from bot import charts
from bot.rules.correlation import CorrelationResolved, CorrelationSpike
from bot.rules.earnings_shock import EarningsShock
from bot.rules.earnings_upcoming import EarningsUpcoming
from bot.rules.levels import LevelBreak
from bot.sources.replay_data import load_replay_data
from bot.store import market, open_db

REPLAY = load_replay_data()
BTC, NVDA, ORCL = (REPLAY.series(s, "1d") for s in ("BTC", "NVDA", "ORCL"))
PNG = b"\x89PNG\r\n\x1a\n"


def close_on(bars, day: date) -> tuple[float, float]:
    [bar] = [b for b in bars if b.ts.date() == day]
    return bar.open, bar.close


def orcl_shock(**changes) -> EarningsShock:
    """ORCL on 11 December 2025, the session after its report, from the real bars."""
    _, prior_close = close_on(ORCL, date(2025, 12, 10))
    open_, close = close_on(ORCL, date(2025, 12, 11))
    shock = EarningsShock(
        symbol="ORCL",
        time=datetime(2025, 12, 11, 21, 0, tzinfo=UTC),
        session=date(2025, 12, 11),
        gap_pct=(open_ / prior_close - 1) * 100,
        move_pct=(close / prior_close - 1) * 100,
        threshold_pct=7.0,
        prior_close=prior_close,
        open=open_,
        price=close,
        earnings=True,
        report_date=date(2025, 12, 10),
        timing="after_close",
        peers={"NVDA": -1.6},
        btc_move_pct=-0.7,
        btc_corr_30d=0.39,
    )
    return replace(shock, **changes)


def spike(cls=CorrelationSpike, **extra):
    common = {
        "symbol": "NVDA",
        "time": datetime(2025, 12, 1, 21, 0, tzinfo=UTC),
        "direction": "up",
        "threshold": 3.1,
        "z": 3.3,
        "value": 0.72,
        "low": 0.41,
        "high": 0.88,
        "usual": 0.2,
        "usual_low": 0.01,
        "usual_high": 0.38,
        "start": date(2025, 11, 3),
        "end": date(2025, 12, 1),
    }
    return cls(**common, **extra)


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG)
    assert 15_000 < len(data) < 300_000


@pytest.fixture
def db():
    database = open_db(":memory:")
    for series in (BTC, NVDA, ORCL):
        market.upsert_bars(database, series)
    yield database
    database.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("window", [21, 63])
def test_correlation_chart_is_a_png(lang, window):
    assert_png(charts.correlation_chart("NVDA", BTC, NVDA, window, lang))


def test_correlation_chart_needs_two_common_closes():
    with pytest.raises(charts.NotEnoughData):
        charts.correlation_chart("NVDA", BTC, NVDA[:1], 21, "en")
    assert_png(charts.correlation_chart("NVDA", BTC, NVDA[:5], 21, "en"))  # prices, no correlation yet


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("earnings", [True, False])
def test_shock_chart_is_a_png(lang, earnings):
    assert_png(charts.shock_chart(orcl_shock(earnings=earnings), ORCL, BTC, lang))


def test_shock_chart_without_btc_or_history():
    assert_png(charts.shock_chart(orcl_shock(), ORCL, [], "en"))
    with pytest.raises(charts.NotEnoughData):
        charts.shock_chart(orcl_shock(), [], BTC, "en")


def test_chinese_labels_only_with_a_font_that_has_their_glyphs():
    font = charts.cjk_font()
    assert charts.chart_language("zh") == ("zh" if font else "en")
    assert charts.chart_language("en") == "en"
    if font is not None:
        path = next(f.fname for f in font_manager.fontManager.ttflist if f.name == font)
        assert all(FT2Font(path).get_char_index(ord(c)) for c in "相关性收盘价年月日")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" before drawing a box
        charts.correlation_chart("NVDA", BTC, NVDA, 21, "zh")
        charts.shock_chart(orcl_shock(), ORCL, BTC, "zh")


@pytest.mark.parametrize("cls", [CorrelationSpike, CorrelationResolved])
def test_chart_for_a_correlation_alert(db, cls):
    assert_png(charts.chart_for_alert(db, spike(cls), "en"))


def test_chart_for_an_earnings_shock(db):
    assert_png(charts.chart_for_alert(db, orcl_shock(), "zh"))


def test_no_chart_for_other_kinds_or_without_data(db):
    now = datetime(2025, 12, 12, 0, 0, tzinfo=UTC)
    level = LevelBreak("BTC", now, 90000.0, "down", 89281.0, 89100.0, 0.8)
    upcoming = EarningsUpcoming("ORCL", now, date(2025, 12, 10), "after_close")
    assert charts.chart_for_alert(db, level, "en") is None
    assert charts.chart_for_alert(db, upcoming, "en") is None
    no_bars = replace(spike(), symbol="AMD")
    assert charts.chart_for_alert(db, no_bars, "en") is None
    assert charts.chart_for_alert(db, orcl_shock(symbol="AMD"), "en") is None


def test_chart_for_an_alert_uses_only_bars_before_it(db):
    early = replace(spike(), time=datetime(2025, 1, 3, 21, 0, tzinfo=UTC))
    assert charts.chart_for_alert(db, early, "en") is None  # one common close by then: nothing to draw
