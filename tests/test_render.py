"""What a chat reads: every alert kind in English and Chinese, numbers, times, escaping, splitting."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.formatting import fmt_corr, fmt_date_range, fmt_pct, fmt_price, fmt_time, fmt_venue, fmt_window
from bot.render import (
    MESSAGE_LIMIT,
    caption,
    html_to_plain,
    render,
    render_message,
    render_plain,
    split_message,
    telegram_length,
)
from bot.rules.correlation import CorrelationResolved, CorrelationSpike
from bot.rules.earnings_reversal import EarningsReversal
from bot.rules.earnings_shock import EarningsShock
from bot.rules.earnings_upcoming import EarningsUpcoming
from bot.rules.gap import Gap
from bot.rules.large_move import LargeMove
from bot.rules.levels import LevelBreak, LevelChop
from bot.rules.market_move import MarketMove
from tests.helpers import correlation_spike

THU_15H = datetime(2025, 12, 11, 15, 0, tzinfo=UTC)


# --- Factories ---------------------------------------------------------------------------------


def level_break(**changes) -> LevelBreak:
    fields = {
        "symbol": "BTC",
        "time": THU_15H,
        "level": 90_000.0,
        "direction": "down",
        "price": 89_281.0,
        "extreme": 88_950.0,
        "through_pct": 0.799,
    }
    return LevelBreak(**{**fields, **changes})


def correlation_resolved(**changes) -> CorrelationResolved:
    fields = {
        "symbol": "NVDA",
        "time": datetime(2025, 12, 19, 21, 30, tzinfo=UTC),
        "direction": "up",
        "threshold": 3.1,
        "z": 0.62,
        "value": 0.35,
        "low": -0.1,
        "high": 0.68,
        "usual": 0.22,
        "usual_low": 0.03,
        "usual_high": 0.4,
        "start": date(2025, 11, 20),
        "end": date(2025, 12, 19),
        "at_close": 14,
    }
    return CorrelationResolved(**{**fields, **changes})


def orcl_shock(**changes) -> EarningsShock:
    """ORCL on 2025-12-11, the session after its Q2 FY2026 report (prices from bot/data/market_2025)."""
    fields = {
        "symbol": "ORCL",
        "time": datetime(2025, 12, 11, 21, 0, tzinfo=UTC),
        "session": date(2025, 12, 11),
        "gap_pct": -14.524,
        "move_pct": -10.834,
        "threshold_pct": 7.0,
        "prior_close": 220.8795,
        "open": 188.7989,
        "price": 196.9503,
        "earnings": True,
        "report_date": date(2025, 12, 10),
        "timing": "after_close",
        "peers": {"NVDA": -1.551, "AMD": 0.0045, "QQQ": -0.323},
        "btc_move_pct": 0.61,
        "btc_corr_30d": 0.41,
        "sigma_pct": 2.1,
        "index": "QQQ",
        "index_move_pct": -0.323,
        "beta": 1.16,
        "net_move_pct": -10.834 + 1.16 * 0.323,
    }
    return EarningsShock(**{**fields, **changes})


def upcoming(**changes) -> EarningsUpcoming:
    fields = {
        "symbol": "ORCL",
        "time": datetime(2025, 12, 9, 21, 5, tzinfo=UTC),
        "report_date": date(2025, 12, 10),
        "timing": "after_close",
    }
    return EarningsUpcoming(**{**fields, **changes})


def large_move(**changes) -> LargeMove:
    fields = {
        "symbol": "BTC",
        "time": THU_15H,
        "direction": "up",
        "move_pct": 6.2,
        "price": 97_800.0,
        "reference_price": 92_090.0,
        "reference_time": THU_15H - timedelta(hours=24),
        "threshold_pct": 5.0,
    }
    return LargeMove(**{**fields, **changes})


def lines(alert, lang="en", tz="UTC") -> list[str]:
    return render(alert, lang, tz).split("\n")


# --- Each kind, as the user reads it -------------------------------------------------------------


@pytest.mark.parametrize(
    ("alert", "lang", "expected"),
    [
        (
            level_break(),
            "en",
            [
                "<b>🔻 BTC broke below 90,000</b>",
                "Price 89,281 · 0.8 % below the level",
                "Low of the move 88,950",
                "<i>Thu 11 Dec 2025, 15:00 UTC</i>",
            ],
        ),
        (
            level_break(),
            "zh",
            [
                "<b>🔻 BTC 跌破 90,000</b>",
                "价格 89,281 · 低于该价位 0.8%",
                "本轮最低价 88,950",
                "<i>2025年12月11日 周四 15:00 UTC</i>",
            ],
        ),
        (
            level_break(level=92_000.0, direction="up", price=92_300.0, extreme=92_300.2, through_pct=0.326),
            "en",
            [
                "<b>🔺 BTC broke above 92,000</b>",
                "Price 92,300 · 0.3 % above the level",
                "<i>Thu 11 Dec 2025, 15:00 UTC</i>",
            ],
        ),
        (
            level_break(level=92_000.0, direction="up", price=92_300.0, extreme=92_950.0, through_pct=0.326),
            "zh",
            [
                "<b>🔺 BTC 突破 92,000</b>",
                "价格 92,300 · 高于该价位 0.3%",
                "本轮最高价 92,950",
                "<i>2025年12月11日 周四 15:00 UTC</i>",
            ],
        ),
    ],
)
def test_level_break(alert, lang, expected):
    assert lines(alert, lang) == expected


HOUR_BAR = THU_15H - timedelta(hours=1)


def test_a_dip_and_recovery_in_one_bar_reads_as_one_story_ending_at_the_close():
    dip = level_break(held=False, price=89_672.0, extreme=89_672.0, through_pct=0.364, bar_start=HOUR_BAR)
    back = level_break(
        direction="up", price=90_787.0, extreme=90_857.0, through_pct=0.874, bar_start=HOUR_BAR, back=True, seq=1
    )
    assert render_message((dip, back), "en", "UTC").split("\n") == [
        "<b>↘️ BTC dipped below 90,000</b>",
        "Low 89,672 · 0.4 % below the level, then back",
        "",
        "<b>🔺 BTC back above 90,000</b>",
        "Close 90,787 · 0.9 % above the level",
        "High of the move 90,857",
        "<i>Thu 11 Dec 2025, 15:00 UTC</i>",
    ]
    assert lines(dip, "zh")[:2] == ["<b>↘️ BTC 一度跌破 90,000</b>", "最低价 89,672 · 低于该价位 0.4%，随后收回"]


def test_a_break_that_ends_a_chop_says_so_and_a_late_one_says_why():
    after = level_break(
        price=88_900.0, extreme=88_700.0, through_pct=1.22, chop_crossings=7, chop_since=THU_15H - timedelta(hours=6)
    )
    assert lines(after)[:4] == [
        "<b>🔻 BTC broke below 90,000</b>",
        "Price 88,900 · 1.2 % below the level",
        "Low of the move 88,700",
        "After 7 crossings back and forth since Thu 09:00",
    ]
    assert lines(after, "zh", "Asia/Shanghai")[3] == "此前自 周四 17:00 起来回穿越 7 次"
    late = level_break(price=88_900.0, extreme=88_900.0, through_pct=1.22, late=True)
    assert lines(late)[:3] == [
        "<b>🔻 BTC is below 90,000</b>",
        "Price 88,900 · 1.2 % below the level",
        "It crossed while our prices were delayed.",
    ]


def test_a_late_break_says_when_it_crossed_in_the_readers_time():
    crossed = (THU_15H - timedelta(minutes=40), THU_15H - timedelta(minutes=20))  # prices were out meanwhile
    late = level_break(price=88_900.0, extreme=88_900.0, through_pct=1.22, late=True, crossed_between=crossed)
    assert lines(late)[2] == "Seen late: it crossed between Thu 14:20 and 14:40, while price data was unavailable."
    assert lines(late, "zh", "Asia/Shanghai")[2] == (
        "延迟获知：价格在 周四 22:20 至 22:40 之间穿越该价位，当时行情数据无法获取。"
    )
    overnight = dataclasses.replace(late, crossed_between=(THU_15H - timedelta(hours=15, minutes=20), crossed[1]))
    assert lines(overnight)[2] == (
        "Seen late: it crossed between Wed 23:40 and Thu 14:40, while price data was unavailable."
    )


def level_chop(**changes) -> LevelChop:
    fields = {
        "symbol": "BTC",
        "time": THU_15H,
        "level": 90_000.0,
        "since": THU_15H - timedelta(hours=3),
        "last": THU_15H,
        "crossings": 5,
        "low": 89_336.0,
        "high": 90_857.0,
        "price": 90_033.0,
        "side": "above",
    }
    return LevelChop(**{**fields, **changes})


ALL_KINDS = [level_break, level_chop, correlation_spike, correlation_resolved, orcl_shock, upcoming, large_move]


def test_a_chop_is_one_message_that_says_it_will_be_updated_until_it_ends():
    assert lines(level_chop()) == [
        "<b>↔️ BTC is chopping around 90,000</b>",
        "5 crossings since Thu 12:00 · range 89,336–90,857",
        "Latest 90,033, above the level",
        "This message is updated while it lasts; a break message follows when the price leaves the level.",
        "<i>Thu 11 Dec 2025, 15:00 UTC</i>",
    ]
    assert lines(level_chop(ended=True, side="below", price=89_500.0))[:3] == [
        "<b>↔️ BTC stopped chopping around 90,000</b>",
        "5 crossings since Thu 12:00 · range 89,336–90,857",
        "Latest 89,500, below the level",
    ]
    assert lines(level_chop(), "zh", "Asia/Shanghai")[:2] == [
        "<b>↔️ BTC 在 90,000 附近反复震荡</b>",
        "自 周四 20:00 起穿越 5 次 · 区间 89,336–90,857",
    ]


def test_correlation_spike_on_a_rise():
    assert lines(correlation_spike()) == [
        "<b>📈 BTC moves with NVDA more than usual</b>",
        "Correlation 0.78 (95 % CI 0.52–0.91) vs usual 0.21 (0.02–0.38)",
        "A change of 3.4σ (standard errors; alerts from 3.1σ)",
        "Last 20 sessions 13 Nov\u2009–\u200911 Dec 2025 vs the 100 before",
        "Daily returns with BTC priced at the NYSE close",
        "<i>Thu 11 Dec 2025, 21:30 UTC</i>",
    ]
    assert lines(correlation_spike(), "zh") == [
        "<b>📈 BTC 与 NVDA 的联动高于往常</b>",
        "相关性 0.78（95% 置信区间 0.52–0.91），往常 0.21（0.02–0.38）",
        "变化幅度 3.4σ（以标准误计；达到 3.1σ 即提醒）",
        "最近 20 个交易日（2025年11月13日\u2009–\u200912月11日）对比此前 100 个交易日",
        "日收益率中的 BTC 价格取美股收盘时刻",
        "<i>2025年12月11日 周四 21:30 UTC</i>",
    ]


def test_correlation_spike_on_a_fall_and_without_dates():
    alert = correlation_spike(symbol="QQQ", direction="down", z=-3.25, value=-0.2, low=-0.58, high=0.26, start=None)
    assert lines(alert)[:4] == [
        "<b>📉 BTC decoupled from QQQ: less correlated than usual</b>",
        "Correlation −0.20 (95 % CI −0.58–0.26) vs usual 0.21 (0.02–0.38)",
        "A change of 3.2σ (standard errors; alerts from 3.1σ)",
        "Last 20 sessions 11 Dec 2025 vs the 100 before",
    ]
    assert lines(alert, "zh")[0] == "<b>📉 BTC 与 QQQ 脱钩：相关性低于往常</b>"


def test_correlation_resolved():
    assert lines(correlation_resolved()) == [
        "<b>✅ BTC and NVDA: back to their usual correlation</b>",
        "Correlation 0.35 (95 % CI −0.10–0.68) vs usual 0.22 (0.03–0.40)",
        "The change is down to 0.6σ (an episode ends below 1.0σ)",
        "Last 20 sessions 20 Nov\u2009–\u200919 Dec 2025 vs the 100 before",
        "BTC priced at the NYSE close on 14 of 20 sessions (else at 00:00 UTC)",
        "<i>Fri 19 Dec 2025, 21:30 UTC</i>",
    ]
    assert lines(correlation_resolved(), "zh")[:3] == [
        "<b>✅ BTC 与 NVDA 的相关性回到往常水平</b>",
        "相关性 0.35（95% 置信区间 −0.10–0.68），往常 0.22（0.03–0.40）",
        "变化幅度已回落至 0.6σ（低于 1.0σ 即视为结束）",
    ]
    assert "threshold" not in render(correlation_resolved())


def test_orcl_earnings_shock_in_english():
    assert lines(orcl_shock()) == [
        "<b>⚡ ORCL −10.8 % after earnings</b>",
        "Gap at the open −14.5 % (188.80 vs 220.88)",
        "Reported Wed 10 Dec after the close",
        "Net of the market: −10.5 % (β 1.16 × QQQ (Nasdaq) −0.3 %)",
        "Peers: NVDA −1.6 %, QQQ (Nasdaq) −0.3 %, AMD +0.0 %",
        "BTC +0.6 % over the same hours · 30d correlation with ORCL 0.41",
        "<i>Thu 11 Dec 2025, 21:00 UTC</i>",
    ]


def test_orcl_earnings_shock_in_chinese():
    assert lines(orcl_shock(), "zh") == [
        "<b>⚡ ORCL 财报后下跌 10.8%</b>",
        "开盘跳空 −14.5%（开盘 188.80，前收 220.88）",
        "财报发布于 12月10日 周三盘后",
        "扣除大盘影响：−10.5%（β 1.16 × QQQ（纳指） −0.3%）",
        "同业：NVDA −1.6%、QQQ（纳指） −0.3%、AMD +0.0%",
        "同一时段 BTC +0.6% · 与 ORCL 的 30日相关性 0.41",
        "<i>2025年12月11日 周四 21:00 UTC</i>",
    ]


def test_shock_before_the_close_headlines_the_gap():
    alert = orcl_shock(move_pct=None, timing="before_open", peers={}, btc_move_pct=None, beta=None)
    assert lines(alert)[:4] == [
        "<b>⚡ ORCL gaps −14.5 % after earnings</b>",
        "Open 188.80 vs prior close 220.88",
        "Reported Wed 10 Dec before the open",
        "BTC 30d correlation with ORCL 0.41",
    ]
    assert lines(alert, "zh")[:3] == [
        "<b>⚡ ORCL 财报后跳空低开 14.5%</b>",
        "开盘 188.80，前收 220.88",
        "财报发布于 12月10日 周三盘前",
    ]


def test_a_gap_without_a_report_says_gap_not_earnings():
    fields = {f.name: getattr(orcl_shock(), f.name) for f in dataclasses.fields(Gap)}
    alert = Gap(**{**fields, "gap_pct": 8.04, "move_pct": 3.0, "price": 227.5, "peers": {}, "beta": None})
    assert lines(alert)[:5] == [
        "<b>⚡ ORCL +8.0 % gap at the open</b>",
        "Open 188.80 vs prior close 220.88",
        "Price 227.50 · +3.0 % vs the prior close",
        "No earnings report on record for this session",
        "BTC +0.6 % over the same hours · 30d correlation with ORCL 0.41",
    ]
    assert "earnings" not in lines(alert)[0]
    assert lines(alert, "zh")[0] == "<b>⚡ ORCL 跳空高开 8.0%</b>"
    assert "财报后" not in lines(alert, "zh")[0]


def test_shock_with_many_peers_lists_the_largest_and_counts_the_rest():
    peers = {f"P{i:02d}": float(i) for i in range(40)}
    peer_line = lines(orcl_shock(peers=peers))[4]
    assert peer_line.startswith("Peers: P39 +39.0 %, P38 +38.0 %, ")
    assert peer_line.endswith("P28 +28.0 %, and 28 more")
    assert lines(orcl_shock(peers=peers), "zh")[4].endswith("P28 +28.0%、另有 28 个")


@pytest.mark.parametrize(
    ("alert", "tz", "en", "zh"),
    [
        (
            upcoming(),
            "UTC",
            "🗓 ORCL reports tomorrow after the close (Wed 10 Dec)",
            "🗓 ORCL 明天（12月10日 周三）盘后发布财报",
        ),
        (
            upcoming(time=datetime(2025, 12, 10, 12, 0, tzinfo=UTC), timing="unknown"),
            "UTC",
            "🗓 ORCL reports today (Wed 10 Dec)",
            "🗓 ORCL 今天（12月10日 周三）发布财报",
        ),
        (
            upcoming(
                time=datetime(2025, 12, 12, 21, 5, tzinfo=UTC), report_date=date(2025, 12, 15), timing="before_open"
            ),
            "UTC",
            "🗓 ORCL reports on Monday before the open (15 Dec)",
            "🗓 ORCL 将于周一（12月15日）盘前发布财报",
        ),
        (  # already Wednesday in Shanghai: "tomorrow" (a New York date) would mislead, so the date is given
            upcoming(),
            "Asia/Shanghai",
            "🗓 ORCL reports on Wed 10 Dec 2025 after the close",
            "🗓 ORCL 将于 2025年12月10日 周三盘后发布财报",
        ),
    ],
)
def test_earnings_upcoming(alert, tz, en, zh):
    assert lines(alert, "en", tz)[0] == f"<b>{en}</b>"
    assert lines(alert, "zh", tz)[0] == f"<b>{zh}</b>"


def test_earnings_upcoming_full_message():
    assert lines(upcoming(), "en", "Europe/Berlin") == [
        "<b>🗓 ORCL reports tomorrow after the close (Wed 10 Dec)</b>",
        "<i>Tue 9 Dec 2025, 22:05 CET</i>",
    ]


def test_large_move():
    assert lines(large_move()) == [
        "<b>🚀 BTC +6.2 % in 24 h</b>",
        "Price 97,800 · 24 h ago 92,090 (Wed 10 Dec 2025, 15:00 UTC)",
        "<i>Thu 11 Dec 2025, 15:00 UTC</i>",
    ]
    assert lines(large_move(), "zh", "Asia/Shanghai") == [
        "<b>🚀 BTC 24 小时上涨 6.2%</b>",
        "价格 97,800 · 24 小时前 92,090（2025年12月10日 周三 23:00 北京时间）",
        "<i>2025年12月11日 周四 23:00 北京时间</i>",
    ]
    down = large_move(direction="down", move_pct=-7.04, price=85_600.0, hours=12)
    assert lines(down)[0] == "<b>📉 BTC −7.0 % in 12 h</b>"
    assert lines(down, "zh")[0] == "<b>📉 BTC 12 小时下跌 7.0%</b>"


def test_unknown_language_falls_back_to_english():
    assert render(level_break(), "de") == render(level_break(), "en")


# --- Safety: escaping, length, plain text ------------------------------------------------------

EVIL = "<b>X&Y</b>"


@pytest.mark.parametrize("factory", ALL_KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_symbols_are_escaped(factory, lang):
    alert = factory(symbol=EVIL, **({"peers": {EVIL: 1.0, "QQQ": 0.5}} if factory is orcl_shock else {}))
    text = render(alert, lang)
    assert "&lt;b&gt;X&amp;Y&lt;/b&gt;" in text
    assert "<b>X" not in text
    assert set(re.findall(r"</?(\w+)", text)) <= {"b", "i"}
    assert "<b>X&Y</b>" in render_plain(alert, lang)  # the terminal shows the name as it is


@pytest.mark.parametrize("factory", ALL_KINDS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_messages_fit_telegram_and_plain_text_has_no_tags(factory, lang):
    text = render(factory(), lang, "Europe/Berlin")
    assert telegram_length(text) < MESSAGE_LIMIT
    plain = render_plain(factory(), lang, "Europe/Berlin")
    assert "<" not in plain and "&" not in plain
    assert plain == re.sub(r"</?[bi]>", "", text)


def test_plain_text_unescapes_entities():
    assert html_to_plain("<b>a &lt;b&gt; &amp; c</b>") == "a <b> & c"


# --- Timezones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "tz", "lang", "expected"),
    [
        (THU_15H, "UTC", "en", "Thu 11 Dec 2025, 15:00 UTC"),
        (THU_15H, None, "en", "Thu 11 Dec 2025, 15:00 UTC"),
        (THU_15H, "Europe/Berlin", "en", "Thu 11 Dec 2025, 16:00 CET"),
        (datetime(2025, 7, 1, 15, 0, tzinfo=UTC), "Europe/Berlin", "en", "Tue 1 Jul 2025, 17:00 CEST"),
        (THU_15H, "Asia/Shanghai", "en", "Thu 11 Dec 2025, 23:00 UTC+8"),  # not "CST": that reads as US Central
        (THU_15H, "Asia/Shanghai", "zh", "2025年12月11日 周四 23:00 北京时间"),
        (datetime(2025, 12, 11, 20, 0, tzinfo=UTC), "Asia/Shanghai", "zh", "2025年12月12日 周五 04:00 北京时间"),
        (THU_15H, "America/New_York", "en", "Thu 11 Dec 2025, 10:00 EST"),
        (THU_15H, "America/Chicago", "en", "Thu 11 Dec 2025, 09:00 CST"),
        (THU_15H, "Asia/Kolkata", "en", "Thu 11 Dec 2025, 20:30 IST"),
        (THU_15H, "America/Sao_Paulo", "en", "Thu 11 Dec 2025, 12:00 UTC−3"),
        (THU_15H, "Asia/Kathmandu", "en", "Thu 11 Dec 2025, 20:45 UTC+5:45"),
        (THU_15H, "Europe/Berlin", "zh", "2025年12月11日 周四 16:00 CET"),
        (THU_15H, "Not/AZone", "en", "Thu 11 Dec 2025, 15:00 UTC"),
        (THU_15H, "../../etc/passwd", "zh", "2025年12月11日 周四 15:00 UTC"),
        (THU_15H, "", "en", "Thu 11 Dec 2025, 15:00 UTC"),
        (datetime(2025, 12, 11, 15, 0), "Europe/Berlin", "en", "Thu 11 Dec 2025, 16:00 CET"),  # naive = UTC
    ],
)
def test_fmt_time(when, tz, lang, expected):
    assert fmt_time(when, tz, lang) == expected


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "Europe/Berlin/", "\x00"])
def test_unknown_timezone_renders_in_utc(tz):
    assert lines(level_break(), "en", tz)[-1] == "<i>Thu 11 Dec 2025, 15:00 UTC</i>"


def test_every_time_in_a_message_follows_the_chat_timezone():
    text = render(large_move(), "en", "Europe/Berlin")
    assert "(Wed 10 Dec 2025, 16:00 CET)" in text
    assert text.endswith("<i>Thu 11 Dec 2025, 16:00 CET</i>")


# --- Numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (92_541.37, "92,541"),
        (90_000.0, "90,000"),
        (1_234_567.8, "1,234,568"),
        (4_500.0, "4,500"),
        (4_512.37, "4,512.37"),
        (188.7989, "188.80"),
        (1.0, "1.00"),
        (0.5432, "0.5432"),
        (0.54321, "0.5432"),
        (0.5, "0.50"),
        (0.00012346, "0.0001235"),
        (0.99999, "1.00"),
        (0.0, "0"),
        (-0.0, "0"),
        (-12.5, "−12.50"),
        (float("nan"), "—"),
        (None, "—"),
    ],
)
def test_fmt_price(value, expected):
    assert fmt_price(value) == expected


@pytest.mark.parametrize(
    ("value", "lang", "signed", "expected"),
    [
        (-10.834, "en", True, "−10.8 %"),
        (0.61, "en", True, "+0.6 %"),
        (0.0045, "en", True, "+0.0 %"),
        (-0.04, "en", True, "−0.0 %"),
        (0.0, "en", True, "0.0 %"),
        (1234.56, "en", True, "+1,234.6 %"),
        (-10.834, "zh", True, "−10.8%"),
        (-10.834, "zh", False, "10.8%"),
        (-0.799, "en", False, "0.8 %"),
        (float("inf"), "en", True, "—"),
    ],
)
def test_fmt_pct(value, lang, signed, expected):
    assert fmt_pct(value, lang, signed) == expected


@pytest.mark.parametrize(
    ("value", "signed", "expected"),
    [
        (0.5312, False, "0.53"),
        (-0.1249, False, "−0.12"),
        (0.0, False, "0.00"),
        (-0.001, False, "0.00"),
        (1.0, False, "1.00"),
        (0.31, True, "+0.31"),
        (-0.31, True, "−0.31"),
        (None, False, "—"),
    ],
)
def test_fmt_corr(value, signed, expected):
    assert fmt_corr(value, signed) == expected


@pytest.mark.parametrize(("days", "en", "zh"), [(21, "30d", "30日"), (63, "90d", "90日"), (10, "10d", "10日")])
def test_fmt_window(days, en, zh):
    assert (fmt_window(days, "en"), fmt_window(days, "zh")) == (en, zh)


@pytest.mark.parametrize(
    ("start", "end", "en", "zh"),
    [
        (
            date(2025, 11, 12),
            date(2025, 12, 11),
            "12 Nov\u2009–\u200911 Dec 2025",
            "2025年11月12日\u2009–\u200912月11日",
        ),
        (
            date(2024, 12, 12),
            date(2025, 1, 13),
            "12 Dec 2024\u2009–\u200913 Jan 2025",
            "2024年12月12日\u2009–\u20092025年1月13日",
        ),
        (None, date(2025, 12, 11), "11 Dec 2025", "2025年12月11日"),
    ],
)
def test_fmt_date_range(start, end, en, zh):
    assert (fmt_date_range(start, end, "en"), fmt_date_range(start, end, "zh")) == (en, zh)


# --- Splitting ---------------------------------------------------------------------------------


def test_short_message_is_one_part():
    text = render(orcl_shock())
    assert split_message(text) == [text]


def test_split_keeps_every_line_and_each_part_fits():
    rows = [f"• <b>NAME{i:03d}</b> moved &amp; closed at {i * 1.5:.2f} — 财报后下跌 {i % 17}.0%" for i in range(400)]
    text = "<b>Header</b>\n" + "\n".join(rows)
    parts = split_message(text, 4096)
    assert len(parts) > 1
    assert all(telegram_length(part) <= 4096 for part in parts)
    assert "\n".join(parts) == text  # cut only between lines, nothing lost or added


def test_split_reopens_a_tag_open_at_the_cut():
    text = "<pre>" + "\n".join(f"line {i:04d}" for i in range(300)) + "</pre>"
    parts = split_message(text, 500)
    assert all(part.startswith("<pre>") and part.endswith("</pre>") for part in parts)
    assert all(len(part) <= 500 for part in parts)
    assert "\n".join(part[5:-6] for part in parts) == text[5:-6]


def test_split_cuts_an_overlong_line_between_words_never_in_an_entity():
    text = "<b>" + " ".join(["A&amp;B"] * 300) + "</b>"
    parts = split_message(text, 200)
    assert all(len(part) <= 200 for part in parts)
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert re.sub(r"</?b>", "", part).replace("A&amp;B", "").strip() == ""  # whole entities only
    assert sum(part.count("A&amp;B") for part in parts) == 300


def test_split_cuts_a_word_longer_than_a_part():
    text = "x" * 1000 + "\n" + "终" * 300 + "&amp;" * 100
    parts = split_message(text, 256)
    assert all(telegram_length(part) <= 256 for part in parts)
    assert "".join(parts) == text.replace("\n", "")
    assert all(re.fullmatch(r"(?:[^&]|&amp;)*", part) for part in parts)  # no entity cut in two


def test_split_counts_emoji_as_telegram_does():
    text = "\n".join(["🚀" * 50] * 100)  # 100 UTF-16 units per line
    parts = split_message(text, 1000)
    assert all(telegram_length(part) <= 1000 for part in parts)
    assert "\n".join(parts) == text


def test_caption_fits_1024():
    assert caption(render(orcl_shock())) == render(orcl_shock())
    long = "<b>Head</b>\n" + "\n".join(f"row {i} &amp; more" for i in range(200))
    short = caption(long)
    assert telegram_length(short) <= 1024
    assert short.startswith("<b>Head</b>\nrow 0 &amp; more") and short.endswith("…")


# --- Property: any field values render, escaped and under the limit --------------------------

_floats = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e6, 1e6)
_opt = st.none() | _floats
_text = st.text(max_size=60)
_times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)) | st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
_dates = st.dates(min_value=date(1970, 1, 2), max_value=date(2200, 1, 1))
_directions = st.sampled_from(["up", "down"])
_alerts = st.one_of(
    st.builds(LevelBreak, _text, _times, _floats, _directions, _floats, _floats, _floats),
    *(
        st.builds(
            kind,
            symbol=_text,
            time=_times,
            direction=_directions,
            threshold=_floats,
            z=_floats,
            window=st.integers(1, 300),
            baseline=st.integers(1, 300),
            value=_floats,
            low=_floats,
            high=_floats,
            usual=_floats,
            usual_low=_floats,
            usual_high=_floats,
            kappa=_floats,
            start=st.none() | _dates,
            end=st.none() | _dates,
            usual_start=st.none() | _dates,
            usual_end=st.none() | _dates,
            at_close=st.integers(-5, 300),
        )
        for kind in (CorrelationSpike, CorrelationResolved)
    ),
    *(
        st.builds(
            kind,
            symbol=_text,
            time=_times,
            session=_dates,
            gap_pct=_floats,
            move_pct=_opt,
            threshold_pct=_floats,
            prior_close=_floats,
            open=_floats,
            price=_floats,
            peers=st.dictionaries(_text, _floats, max_size=60),
            btc_move_pct=_opt,
            btc_corr_30d=_opt,
            sigma_pct=_opt,
            index=st.none() | _text,
            index_move_pct=_opt,
            beta=_opt,
            **extra,
        )
        for kind, extra in (
            (
                EarningsShock,
                {
                    "earnings": st.booleans(),
                    "report_date": st.none() | _dates,
                    "timing": st.none() | st.sampled_from(["after_close", "before_open", "unknown"]) | _text,
                },
            ),
            (EarningsReversal, {"report_date": st.none() | _dates, "complete": st.booleans()}),
            (Gap, {}),
        )
    ),
    st.builds(
        MarketMove,
        symbol=_text,
        time=_times,
        session=_dates,
        prior_session=_dates,
        direction=_directions,
        moves=st.dictionaries(_text, _floats, max_size=20),
        sigmas=st.dictionaries(_text, _floats, max_size=20),
        btc_move_pct=_opt,
        complete=st.booleans(),
    ),
    st.builds(
        EarningsUpcoming, _text, _times, _dates, st.sampled_from(["after_close", "before_open", "unknown"]) | _text
    ),
    st.builds(LargeMove, _text, _times, _directions, _floats, _floats, _floats, _times, _floats, st.integers(1, 168)),
    st.builds(
        LargeMove,
        symbol=_text,
        time=_times,
        direction=_directions,
        move_pct=_floats,
        price=_floats,
        reference_price=_floats,
        reference_time=st.none(),
        threshold_pct=_floats,
        setting=_text,
        sigma_pct=_opt,
        session=_dates,
        prior_session=_dates,
        complete=st.booleans(),
    ),
)
_zones = st.sampled_from(["UTC", "Europe/Berlin", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"]) | _text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=_alerts, lang=st.sampled_from(["en", "zh", "xx"]), tz=_zones)
def test_any_alert_renders_valid_and_short(alert, lang, tz):
    text = render(alert, lang, tz)
    assert telegram_length(text) < MESSAGE_LIMIT
    assert set(re.findall(r"</?([^\s>]*)", text)) <= {"b", "i"}  # every "<" from a value is escaped
    assert re.fullmatch(r"<b>[^<]*</b>\n(?:[^<]*\n)*<i>[^<]*</i>", text)
    assert render_plain(alert, lang, tz) == html_to_plain(text)


@pytest.mark.parametrize(
    ("source", "market", "lang", "said"),
    [
        ("binance", "BTC/USDT", "en", "Binance · BTC/USDT"),
        ("kraken", "BTC/USD", "en", "Kraken · BTC/USD"),
        ("yfinance", None, "en", "Yahoo Finance"),
        ("replay", "BTC/USD", "en", "recorded data · BTC/USD"),
        ("replay", "BTC/USD", "zh", "历史数据 · BTC/USD"),
        ("bitstamp", "BTC/USD", "en", "Bitstamp · BTC/USD"),  # an exchange without a name of its own here
    ],
)
def test_a_price_says_where_it_came_from(source, market, lang, said):
    assert fmt_venue(source, market, lang) == said
