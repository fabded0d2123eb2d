"""Charts as PNG bytes from the shipped real 2025 bars, and which alerts get one."""

from __future__ import annotations

import sys
import warnings
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from matplotlib.ft2font import FT2Font

from bot import charts
from bot.price_chart import price_chart
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


def test_a_chinese_chat_gets_its_charts_in_chinese_with_every_glyph_drawn():
    """Where no Chinese font is installed (a fresh machine, the slim Docker image), the one the bot
    ships draws them: a Chinese chart is never the English one, and never boxes."""
    assert charts.cjk_font() == "Bot Sans CJK SC Subset"
    assert charts.chart_language("zh") == "zh" and charts.chart_language("en") == "en"
    hourly = REPLAY.series("BTC", "1h")[-72:]
    draw = {
        "correlation": lambda lang: charts.correlation_chart("NVDA", BTC, NVDA, 21, lang),
        "shock": lambda lang: charts.shock_chart(orcl_shock(), ORCL, BTC, lang),
        "price": lambda lang: price_chart("BTC", hourly, 90_000.0, (hourly[-1].ts, hourly[-1].close), lang),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" before drawing a box
        chinese = {name: paint("zh") for name, paint in draw.items()}
    for name, paint in draw.items():
        assert_png(chinese[name])
        assert chinese[name] != paint("en"), f"the {name} chart of a Chinese chat is the English one"


def test_the_shipped_font_has_every_character_a_chinese_chart_can_show():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import subset_font

    font = FT2Font(str(charts.BUNDLED_FONT))
    missing = sorted(c for c in subset_font.needed_characters(charts_only=True) if not font.get_char_index(ord(c)))
    assert not missing, f"run python scripts/subset_font.py <NotoSansCJKsc-Regular.otf>: {''.join(missing)} missing"
    assert (charts.BUNDLED_FONT.parent / "OFL.txt").read_text().startswith("Bot Sans CJK SC Subset")


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


async def test_start_up_says_which_font_draws_chinese_labels_and_status_warns_when_none(monkeypatch, caplog):
    from bot.health import HealthRegistry
    from bot.telegram.app import check_chart_font
    from bot.telegram.status import render_status

    now = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
    health = HealthRegistry()
    caplog.set_level("INFO", logger="bot.telegram.app")
    await check_chart_font(health)
    assert health.chart_font == "Bot Sans CJK SC Subset"
    assert "charts: Chinese labels drawn with Bot Sans CJK SC Subset" in caplog.text
    assert "Charts:" not in render_status("en", now, now, 1, True, health)
    monkeypatch.setattr(charts, "cjk_font", lambda: None)  # a machine where the shipped font is gone
    await check_chart_font(health)
    assert "no font has the Chinese glyphs" in caplog.text
    status = render_status("zh", now, now, 1, True, health)
    assert "⚠️ 图表：没有包含中文字形的字体，中文聊天的图表将以英文标注（bot/fonts 是否缺失？）。" in status.splitlines()


def drawn_texts(monkeypatch, draw) -> list[str]:
    """Every text ``draw()`` puts on its figure (titles, labels, legends, notes)."""
    from matplotlib.text import Text

    seen: list[str] = []
    real = charts.draw_png

    def spy(lang, paint):
        def painted(fig, lang):
            paint(fig, lang)
            seen.extend(text.get_text() for text in fig.findobj(Text))

        return real(lang, painted)

    monkeypatch.setattr(charts, "draw_png", spy)
    draw()
    return seen


def test_the_earnings_chart_names_the_peers_the_alert_lists(monkeypatch):
    shock = orcl_shock(peers={"NVDA": -1.6, "AMD": -3.2, "QQQ": -1.1})
    texts = drawn_texts(monkeypatch, lambda: charts.shock_chart(shock, ORCL, BTC, "en"))
    assert "Peers over the same session: AMD −3.2 %, NVDA −1.6 %, QQQ (Nasdaq) −1.1 %" in texts
    texts = drawn_texts(monkeypatch, lambda: charts.shock_chart(shock, ORCL, BTC, "zh"))
    assert "同期同业：AMD −3.2%、NVDA −1.6%、QQQ（纳指） −1.1%" in texts


def test_the_correlation_chart_draws_the_level_the_alert_fired_past(monkeypatch):
    alert = spike()  # usual 0.20, now 0.72 at 3.3σ; alerts from 3.1σ
    level, sigmas = charts.alert_level(alert)
    assert (round(level, 4), sigmas) == (round(0.2 + 3.1 * (0.72 - 0.2) / 3.3, 4), 3.1)
    down = replace(spike(), direction="down", value=0.0, z=-2.0)  # 0.20 → 0.00: 0.10 per σ
    assert charts.alert_level(down) == (pytest.approx(0.2 - 3.1 * 0.1), 3.1)
    texts = drawn_texts(monkeypatch, lambda: charts.chart_for_alert(_bars_db(), alert, "en"))
    assert "Alerts past 0.69 (3.1σ from the usual)" in texts


def _bars_db():
    database = open_db(":memory:")
    for series in (BTC, NVDA, ORCL):
        market.upsert_bars(database, series)
    return database
