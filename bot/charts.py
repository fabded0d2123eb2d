"""Charts for /corr and for alerts: PNG bytes from plain bars.

    png = correlation_chart("NVDA", btc_daily, nvda_daily, 21, "en")
    png = shock_chart(alert, orcl_daily, btc_daily, "en")
    png = chart_for_alert(db, alert, "zh")      # None for kinds without a chart, or too little data

Everything here is synchronous and CPU-bound: call it with ``asyncio.to_thread``. Each figure
is drawn on its own Agg canvas (``FigureCanvasAgg``; pyplot is never imported, so there is no
GUI backend and no global list of open figures), under one lock because matplotlib's text
machinery is not thread-safe, and cleared once its PNG is written. Labels come from
:mod:`bot.i18n`; Chinese labels are used only when an installed font has every glyph they
need (:func:`cjk_font`), otherwise the chart falls back to English instead of drawing boxes.
"""

from __future__ import annotations

import functools
import html
import io
import logging
import math
import textwrap
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, cast

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import StrMethodFormatter
from sqlite_utils import Database

from bot.domain import Alert, Bar
from bot.formatting import fmt_corr, fmt_date, fmt_date_range, fmt_pct, fmt_price, fmt_sigmas, fmt_window
from bot.i18n import language, t
from bot.markettime import utc_midnight
from bot.rules.correlation import CorrelationResolved, CorrelationSpike
from bot.rules.correlation_stats import aligned_returns, rolling_correlation
from bot.rules.session_news import SessionNews, peers_text
from bot.store.market import load_bars

log = logging.getLogger(__name__)

BTC = "BTC"  # the other side of every correlation
SIZE = (8.0, 5.6)  # inches; at DPI 100 an 800 × 560 image
DPI = 100
MAX_BYTES = 300_000
CORR_SESSIONS = 252  # about a year of sessions on the correlation chart
CORR_LOOKBACK = timedelta(days=760)  # enough bars for a 260-session window and a year of chart
SHOCK_SESSIONS = 40
SHOCK_LOOKBACK = timedelta(days=90)
BTC_COLOUR, EQUITY_COLOUR, CORR_COLOUR = "#f7931a", "#1f5fa8", "#6a3d9a"
UP_COLOUR, DOWN_COLOUR = "#2ca02c", "#d62728"
_CJK_HINTS = (
    "cjk",
    "han",
    "hei",
    "song",
    "kai",
    "ming",
    "wenquanyi",
    "wqy",
    "yahei",
    "pingfang",
    "hiragino",
    "fallback",
    "gothic",
    " sc",
    " tc",
)
_ZH_DATES = {
    "formats": ["%Y年", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
    "zero_formats": ["", "%Y年", "%m月", "%m月%d日", "%H:%M", "%H:%M"],
    "offset_formats": ["", "%Y年", "%Y年%m月", "%Y年%m月%d日", "%Y年%m月%d日", "%Y年%m月%d日 %H:%M"],
}
_LOCK = threading.Lock()
BUNDLED_FONT = Path(__file__).resolve().parent / "fonts" / "BotSansCJKsc-Subset.otf"


class NotEnoughData(ValueError):
    """The bars given cannot make this chart."""


@functools.cache
def cjk_font() -> str | None:
    """The family of a font with every glyph the Chinese labels need, or None: the one the bot
    ships (``bot/fonts``, a subset of Noto Sans CJK SC made by ``scripts/subset_font.py``), else an
    installed one."""
    if BUNDLED_FONT.exists():
        try:
            font_manager.fontManager.addfont(str(BUNDLED_FONT))
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("charts: the bundled CJK font %s cannot be read: %s", BUNDLED_FONT.name, exc)
    zh = language("zh").catalog
    texts = [str(m.string) for m in zh if isinstance(m.id, str) and m.id.startswith("chart.")]
    needed = {c for text in texts for c in text if ord(c) >= 0x2E80} | set("年月日")
    bundled = str(BUNDLED_FONT)  # first: the same glyphs on every machine
    for entry in sorted(font_manager.fontManager.ttflist, key=lambda e: (e.fname != bundled, e.name)):
        name = entry.name.lower()
        if "last resort" in name or not any(hint in name for hint in _CJK_HINTS):
            continue
        try:
            font = FT2Font(entry.fname)
        except (OSError, RuntimeError, ValueError):
            continue
        if all(font.get_char_index(ord(c)) for c in needed):
            return entry.name
    return None


def chart_language(lang: str) -> str:
    """``lang`` if the charts can be labelled in it here, else English."""
    return "zh" if lang == "zh" and cjk_font() else "en"


def chart_label(lang: str, key: str, **values: object) -> str:
    return html.unescape(t(lang, key, **values))  # t() escapes for Telegram HTML; a chart is not HTML


def _daily_closes(bars: Sequence[Bar]) -> dict[date, float]:
    return {
        b.ts.astimezone(UTC).date(): b.close
        for b in bars
        if b.interval == "1d" and math.isfinite(b.close) and b.close > 0
    }


def _x(day: date) -> datetime:
    return datetime.combine(day, time(0))


def date_axis(ax: Axes, lang: str) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, **(_ZH_DATES if lang == "zh" else {})))  # type: ignore[no-untyped-call]


def draw_png(lang: str, paint: Callable[[Figure, str], None]) -> bytes:
    """Run ``paint(figure, label_language)`` on a fresh Agg figure and return it as PNG."""
    font = cjk_font() if lang == "zh" else None
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    style = {
        "font.family": family,
        "axes.unicode_minus": True,
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with _LOCK, rc_context(cast(Any, style)):
        fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        try:
            paint(fig, "zh" if font else "en")
            for dpi in (DPI, 80, 60):
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
                png = buffer.getvalue()
                if len(png) <= MAX_BYTES:
                    return png
            raise RuntimeError(f"chart is {len(png):,} bytes even at {dpi} dpi")
        finally:
            fig.clear()


def correlation_chart(
    symbol: str,
    btc_daily: Sequence[Bar],
    equity_daily: Sequence[Bar],
    window: int,
    lang: str,
    threshold: tuple[float, float] | None = None,
) -> bytes:
    """BTC and ``symbol`` rebased to 100 (top) over their rolling ``window``-session correlation
    (bottom); ``threshold``: (correlation, σ) past which the alert fired, drawn across."""
    btc, equity = _daily_closes(btc_daily), _daily_closes(equity_daily)
    days = sorted(btc.keys() & equity.keys())[-CORR_SESSIONS:]
    if len(days) < 2:
        raise NotEnoughData(f"BTC and {symbol} share {len(days)} daily close(s)")
    first = days[0]
    points = [(d, v) for d, v in rolling_correlation(aligned_returns(btc_daily, equity_daily), window) if d >= first]
    x = [_x(d) for d in days]

    def paint(fig: Figure, lang: str) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.plot(x, [btc[d] / btc[first] * 100 for d in days], color=BTC_COLOUR, lw=1.4, label=BTC)
        top.plot(x, [equity[d] / equity[first] * 100 for d in days], color=EQUITY_COLOUR, lw=1.4, label=symbol)
        top.set_ylabel(chart_label(lang, "chart.corr.prices"))
        top.legend(loc="upper left", frameon=False)
        name = fmt_window(window, lang)
        values = [math.nan if v is None else v for _, v in points]
        bottom.plot(
            [_x(d) for d, _ in points],
            values,
            color=CORR_COLOUR,
            lw=1.4,
            label=chart_label(lang, "chart.corr.line", window=name),
        )
        bottom.axhline(0, color="grey", lw=0.8)
        if threshold is not None:
            level, sigmas = threshold
            label = chart_label(lang, "chart.corr.threshold", level=fmt_corr(level), sigmas=fmt_sigmas(sigmas, lang))
            bottom.axhline(level, color=CORR_COLOUR, ls="--", lw=1, label=label)
        bottom.set_ylim(-1.05, 1.05)
        bottom.set_ylabel(chart_label(lang, "chart.corr.axis"))
        known = [(d, v) for d, v in points if v is not None]
        if known:
            day, value = known[-1]
            bottom.annotate(
                fmt_corr(value),
                (_x(day), value),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                color=CORR_COLOUR,
                fontweight="bold",
                fontfamily="DejaVu Sans",  # a number: the CJK subset has no bold
            )
        bottom.legend(loc="lower left", frameon=False)
        date_axis(bottom, lang)
        title = chart_label(lang, "chart.corr.title", symbol=symbol, window=name, sessions=window)
        fig.suptitle(f"{title}\n{fmt_date_range(days[0], days[-1], lang)}", fontsize=11)

    return draw_png(lang, paint)


def shock_chart(alert: SessionNews, name_daily: Sequence[Bar], btc_daily: Sequence[Bar], lang: str) -> bytes:
    """The name's closes before the shock with the gap marked (top) and BTC over the same days (bottom)."""
    closes = {d: c for d, c in _daily_closes(name_daily).items() if d < alert.session}
    days = sorted(closes)[-SHOCK_SESSIONS:]
    if not days:
        raise NotEnoughData(f"no {alert.symbol} close before {alert.session}")
    btc = {d: c for d, c in _daily_closes(btc_daily).items() if days[0] <= d <= alert.session}
    btc_days = sorted(btc)
    session = _x(alert.session)
    move = alert.move_pct if alert.move_pct is not None else alert.gap_pct
    colour = DOWN_COLOUR if alert.gap_pct < 0 else UP_COLOUR

    def paint(fig: Figure, lang: str) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.plot(
            [_x(d) for d in days],
            [closes[d] for d in days],
            color=EQUITY_COLOUR,
            lw=1.4,
            label=chart_label(lang, "chart.shock.closes", symbol=alert.symbol),
        )
        top.plot([_x(days[-1]), session], [alert.prior_close, alert.open], color=colour, ls="--", lw=1.2)
        gap = fmt_pct(alert.gap_pct, lang)
        top.plot(
            [session],
            [alert.open],
            "o",
            color=colour,
            ms=7,
            label=chart_label(lang, "chart.shock.open", open=fmt_price(alert.open), gap=gap),
        )
        top.plot(
            [session],
            [alert.price],
            "D",
            color="black",
            ms=5,
            label=chart_label(lang, "chart.shock.price", price=fmt_price(alert.price), move=fmt_pct(move, lang)),
        )
        top.annotate(
            gap,
            (session, alert.open),
            xytext=(-8, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            color=colour,
            fontweight="bold",
            fontfamily="DejaVu Sans",  # a number: the CJK subset has no bold
        )
        top.legend(loc="best", frameon=False)
        if alert.peers:
            peers = chart_label(lang, "chart.shock.peers", peers=html.unescape(peers_text(alert.peers, lang)))
            top.text(0.01, 0.02, textwrap.fill(peers, 100), transform=top.transAxes, fontsize=8, va="bottom")
        if btc_days:
            bottom.plot(
                [_x(d) for d in btc_days],
                [btc[d] for d in btc_days],
                color=BTC_COLOUR,
                lw=1.4,
                label=chart_label(lang, "chart.shock.btc"),
            )
            bottom.legend(loc="best", frameon=False)
            bottom.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        else:
            bottom.text(0.5, 0.5, chart_label(lang, "chart.no_data"), transform=bottom.transAxes, ha="center")
        for ax in (top, bottom):
            ax.axvline(session, color="grey", ls=":", lw=1)
        date_axis(bottom, lang)
        earnings = alert.kind != "gap" and getattr(alert, "earnings", True)  # a reversal is earnings news too
        key = "chart.shock.title_earnings" if earnings else "chart.shock.title_gap"
        when = fmt_date(alert.session, lang, year=True)
        shown = fmt_pct(move if earnings else alert.gap_pct, lang)
        fig.suptitle(chart_label(lang, key, symbol=alert.symbol, move=shown, date=when), fontsize=11)

    return draw_png(lang, paint)


def alert_level(alert: CorrelationSpike | CorrelationResolved) -> tuple[float, float] | None:
    """The correlation at which the change reaches the alert's σ: the usual value plus that many
    of the change's standard errors (|value − usual| / |z| each), the way it moved; and the σ."""
    if not alert.z or not math.isfinite(alert.z):
        return None
    error = abs(alert.value - alert.usual) / abs(alert.z)
    way = 1.0 if alert.direction == "up" else -1.0
    return max(-1.0, min(1.0, alert.usual + way * alert.threshold * error)), alert.threshold


def correlation_bars(db: Database, symbol: str, now: datetime) -> tuple[list[Bar], list[Bar]]:
    """BTC's and ``symbol``'s daily bars as of ``now``: BTC days that have closed, sessions started."""
    since = now - CORR_LOOKBACK
    btc = load_bars(db, BTC, "1d", since, utc_midnight(now.astimezone(UTC).date()))
    return btc, load_bars(db, symbol, "1d", since, now)


def chart_for_alert(db: Database, alert: Alert, lang: str) -> bytes | None:
    """The chart for a correlation or earnings-shock alert from the stored bars; None for other kinds."""
    try:
        if isinstance(alert, (CorrelationSpike, CorrelationResolved)):
            btc, equity = correlation_bars(db, alert.symbol, alert.time)
            return correlation_chart(alert.symbol, btc, equity, alert.window, lang, alert_level(alert))
        if isinstance(alert, SessionNews):
            start = utc_midnight(alert.session)
            name = load_bars(db, alert.symbol, "1d", start - SHOCK_LOOKBACK, start)
            btc = load_bars(db, BTC, "1d", start - SHOCK_LOOKBACK, start + timedelta(days=1))
            return shock_chart(alert, name, btc, lang)
    except NotEnoughData as exc:
        log.info("no chart for %s: %s", alert.key, exc)
    return None
