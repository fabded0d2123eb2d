"""What /price, /corr, /earnings and /watch show: plain data in, Telegram HTML out (no I/O).

Every text is here in English and Chinese; values are escaped by :func:`bot.i18n.t`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import EarningsDate, Quote
from bot.formatting import (
    MINUS,
    fmt_age,
    fmt_corr,
    fmt_date,
    fmt_date_range,
    fmt_list,
    fmt_pct,
    fmt_price,
    fmt_sigmas,
    fmt_time,
    fmt_window,
)
from bot.i18n import t, tn
from bot.markettime import NEW_YORK, REGULAR_CLOSE, REGULAR_OPEN
from bot.rules.correlation import Verdict, values_line
from bot.rules.correlation_change import BASELINE, RECENT, SPAN
from bot.rules.correlation_stats import CorrelationReading

MAX_EARNINGS = 20  # lines of /earnings


def listed(lang: str, symbols: Sequence[str]) -> str:
    """``NVDA, AMD`` / ``NVDA、AMD``."""
    return fmt_list(lang, tuple(symbols))


def price_text(
    lang: str,
    symbols: Sequence[str],
    quotes: Mapping[str, Quote],
    now: datetime,
    stale: Collection[str],
    collecting: bool,
) -> str:
    """One line per symbol: price, 24h change, age of the quote, and whether it is stale."""
    lines = [t(lang, "market.price.header")]
    for symbol in symbols:
        quote = quotes.get(symbol)
        if quote is None:
            lines.append(t(lang, "market.price.missing", symbol=symbol))
            continue
        parts = [t(lang, "market.price.quote", symbol=symbol, price=fmt_price(quote.price))]
        if quote.change_24h_pct is not None:
            parts.append(t(lang, "market.price.change", change=fmt_pct(quote.change_24h_pct, lang)))
        parts.append(t(lang, "market.price.age", age=fmt_age(now - quote.ts, lang)))
        if symbol in stale:
            parts.append(t(lang, "market.price.stale"))
        lines.append(" · ".join(parts))
    if not collecting:
        lines += ["", t(lang, "market.price.not_collecting")]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CorrTest:
    """The correlation-change test the alerts use, on the latest session, and the chat's threshold."""

    verdict: Verdict | None
    threshold: float


def _signed_sigmas(value: float, lang: str) -> str:
    sign = "+" if value > 0 else MINUS if value < 0 else ""
    return sign + fmt_sigmas(abs(value), lang)


def corr_test_lines(lang: str, test: CorrTest) -> list[str]:
    """The test: both windows' robust correlations with their 95 % intervals, and z against the threshold."""
    v = test.verdict
    if v is None:
        return [t(lang, "market.corr.test_none", needed=SPAN, recent=RECENT, baseline=BASELINE)]
    recent_ci, usual_ci = v.bounds()
    return [
        t(lang, "market.corr.test", recent=RECENT, baseline=BASELINE),
        values_line(lang, v.recent, recent_ci, v.usual, usual_ci),
        t(lang, "market.corr.test_z", z=_signed_sigmas(v.z, lang), threshold=fmt_sigmas(test.threshold, lang)),
    ]


def corr_text(
    lang: str, symbol: str, readings: Mapping[int, CorrelationReading | None], test: CorrTest | None = None
) -> str:
    """Each window's value with its 95 % interval and 10-session change, the dates the returns span,
    then the test the alerts use."""
    lines = [t(lang, "market.corr.header", symbol=symbol)]
    for window, reading in readings.items():
        name = fmt_window(window, lang)
        if reading is None:
            lines.append(t(lang, "market.corr.no_value", window=name, sessions=window))
            continue
        value = fmt_corr(reading.value, lang=lang)
        if reading.low is not None and reading.high is not None:
            low, high = fmt_corr(reading.low, lang=lang), fmt_corr(reading.high, lang=lang)
            line = t(lang, "market.corr.value_ci", window=name, sessions=window, value=value, low=low, high=high)
        else:
            line = t(lang, "market.corr.value", window=name, sessions=window, value=value)
        if reading.earlier is not None:
            change = fmt_corr(reading.value - reading.earlier, signed=True)
            line += " · " + t(lang, "market.corr.change", change=change)
        lines.append(line)
    known = [r for r in readings.values() if r is not None]
    if known:
        span = fmt_date_range(min(r.start for r in known), max(r.end for r in known), lang)
        lines.append(t(lang, "market.corr.range", range=span))
    if test is not None:
        lines += corr_test_lines(lang, test)
    return "\n".join(lines)


def corr_not_enough(lang: str, symbol: str, returns: int, window: int) -> str:
    return tn(lang, "market.corr.not_enough", returns, symbol=symbol, window=fmt_window(window, lang), needed=window)


def corr_caption(lang: str, symbol: str, window: int) -> str:
    return t(lang, "market.corr.caption", symbol=symbol, window=fmt_window(window, lang))


def earnings_text(lang: str, reports: Sequence[EarningsDate], watched: Sequence[str], tz: str) -> str:
    """Each report with the US open or close it comes before or after, as a time in ``tz``."""
    if not reports:
        return t(lang, "market.earnings.none", symbols=listed(lang, watched))
    lines = [t(lang, "market.earnings.header", tz=tz)]
    for report in reports[:MAX_EARNINGS]:
        if report.timing in ("after_close", "before_open"):
            bell = REGULAR_CLOSE if report.timing == "after_close" else REGULAR_OPEN
            local = fmt_time(datetime.combine(report.report_date, bell, NEW_YORK), tz, lang)
            lines.append(t(lang, f"market.earnings.{report.timing}", symbol=report.symbol, local=local))
        else:
            day = fmt_date(report.report_date, lang, year=True)
            lines.append(t(lang, "market.earnings.unknown", symbol=report.symbol, date=day))
    if len(reports) > MAX_EARNINGS:
        lines.append(t(lang, "market.earnings.more", count=len(reports) - MAX_EARNINGS))
    return "\n".join(lines)


def watch_text(lang: str, defaults: Sequence[str], own: Sequence[str], limit: int) -> str:
    """The bot's watchlist, then the chat's own tickers."""
    lines = [t(lang, "market.watch.header"), t(lang, "market.watch.defaults", symbols=listed(lang, defaults))]
    if own:
        lines.append(t(lang, "market.watch.own", count=len(own), limit=limit, symbols=listed(lang, own)))
    else:
        lines.append(t(lang, "market.watch.no_own"))
    return "\n".join(lines)
