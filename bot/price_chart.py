"""The chart an alert's 📈 button sends: the recent price, with the level it crossed drawn.

    png = price_chart("BTC", hourly_bars, 90_000.0, (alert.time, alert.price), "en")
    png = chart_on_request(db, alert, "zh")   # None for kinds this chart is not for

Synchronous and CPU-bound like :mod:`bot.charts` (its lock, its fonts, its size): call it with
``asyncio.to_thread``. Hourly bars of the three days up to the alert: the closes as a line, each
hour's low–high as a band (a wick shows), the level as a dashed line, the alert's price as a dot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter
from sqlite_utils import Database

from bot.charts import (
    BTC_COLOUR,
    DOWN_COLOUR,
    EQUITY_COLOUR,
    UP_COLOUR,
    NotEnoughData,
    chart_label,
    date_axis,
    draw_png,
)
from bot.domain import Alert, Bar
from bot.formatting import fmt_price, fmt_time
from bot.rules.large_move import LargeMove
from bot.rules.levels import LevelBreak, LevelChop
from bot.rules.market_move import MarketMove
from bot.store.market import load_bars

SPAN = timedelta(days=3)  # of hourly bars up to the alert
AFTER = timedelta(hours=6)  # and after it, when the button is pressed later
CHARTED = (LevelBreak, LevelChop, LargeMove, MarketMove)


def price_chart(
    symbol: str, hourly: Sequence[Bar], level: float | None, mark: tuple[datetime, float] | None, lang: str
) -> bytes:
    """``symbol``'s hourly closes and ranges, ``level`` drawn across, ``mark`` (time, price) as a dot."""
    bars = [b for b in hourly if math.isfinite(b.close) and b.close > 0]
    if len(bars) < 2:
        raise NotEnoughData(f"{len(bars)} hourly bar(s) of {symbol}")
    x = date2num([b.ts.astimezone(UTC).replace(tzinfo=None) for b in bars])  # type: ignore[no-untyped-call]
    colour = BTC_COLOUR if symbol == "BTC" else EQUITY_COLOUR

    def paint(fig: Figure, lang: str) -> None:
        ax = fig.subplots()
        ax.fill_between(x, [b.low for b in bars], [b.high for b in bars], color=colour, alpha=0.18, lw=0,
                        label=chart_label(lang, "chart.price.range"))  # fmt: skip
        ax.plot(x, [b.close for b in bars], color=colour, lw=1.4, label=chart_label(lang, "chart.price.close"))
        if level is not None:
            ax.axhline(
                level,
                color="black",
                ls="--",
                lw=1,
                label=chart_label(lang, "chart.price.level", level=fmt_price(level)),
            )
        if mark is not None:
            when, price = mark
            side = UP_COLOUR if level is None or price >= level else DOWN_COLOUR
            at = date2num([when.astimezone(UTC).replace(tzinfo=None)])  # type: ignore[no-untyped-call]
            label = chart_label(lang, "chart.price.alert", price=fmt_price(price))
            ax.plot(at, [price], "o", color=side, ms=7, label=label)
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}" if bars[-1].close >= 100 else "{x:,.2f}"))
        ax.legend(loc="best", frameon=False)
        date_axis(ax, lang)
        end = fmt_time(bars[-1].ts + timedelta(hours=1), "UTC", lang)
        fig.suptitle(chart_label(lang, "chart.price.title", symbol=symbol, end=end), fontsize=11)

    return draw_png(lang, paint)


def chart_on_request(db: Database, alert: Alert, lang: str) -> bytes | None:
    """The 📈 chart of a level or move alert from the stored hourly bars; None for other kinds
    (their chart comes with the alert) or when there are too few bars."""
    if not isinstance(alert, CHARTED):
        return None
    level = alert.level if isinstance(alert, (LevelBreak, LevelChop)) else None
    mark = None if isinstance(alert, MarketMove) else (alert.time, alert.price)  # an index's move: no one price
    bars = load_bars(db, alert.symbol, "1h", alert.time - SPAN, alert.time + AFTER)
    try:
        return price_chart(alert.symbol, bars, level, mark, lang)
    except NotEnoughData:
        return None
