"""What /price, /corr, /earnings and /watch show: plain data in, Telegram HTML out (no I/O).

Every text is here in English and Chinese; values are escaped by :func:`bot.i18n.t`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from bot.engine.correlation import CorrelationReading
from bot.formatting import fmt_corr, fmt_date, fmt_date_range, fmt_pct, fmt_price, fmt_time, fmt_window
from bot.health import format_age
from bot.i18n import register_messages, t
from bot.domain import EarningsDate, Quote
from bot.markettime import NEW_YORK, REGULAR_CLOSE, REGULAR_OPEN

MAX_EARNINGS = 20  # lines of /earnings

EN: dict[str, str] = {
    "market.price.header": "<b>Prices</b>",
    "market.price.quote": "<b>{symbol}</b> {price}",
    "market.price.change": "{change} 24h",
    "market.price.age": "{age} ago",
    "market.price.stale": "⚠️ stale",
    "market.price.missing": "<b>{symbol}</b> no price yet",
    "market.price.not_collecting": "No data source is running: these are the last stored prices.",
    "market.corr.header": "<b>BTC × {symbol} correlation</b> (daily returns)",
    "market.corr.value": "{window} ({sessions} sessions): <b>{value}</b>",
    "market.corr.change": "{change} over 10 sessions",
    "market.corr.no_value": "{window} ({sessions} sessions): not enough data yet",
    "market.corr.range": "Data: {range}",
    "market.corr.not_enough": (
        "Not enough data for BTC × {symbol} yet: {count} daily returns in common, "
        "a {window} correlation needs {needed}."
    ),
    "market.corr.caption": "BTC × {symbol}: {window} rolling correlation, prices rebased to 100",
    "market.earnings.header": "🗓 <b>Upcoming earnings</b> · times in {tz}",
    "market.earnings.after_close": "• <b>{symbol}</b> after the US close, from {local}",
    "market.earnings.before_open": "• <b>{symbol}</b> before the US open, by {local}",
    "market.earnings.unknown": "• <b>{symbol}</b> on {date} (US), time not announced",
    "market.earnings.more": "… and {count} more",
    "market.earnings.none": "No upcoming earnings known for {symbols}.",
    "market.watch.header": "<b>Watchlist</b>",
    "market.watch.defaults": "Always watched: {symbols}",
    "market.watch.own": "This chat's own ({count}/{limit}): {symbols}",
    "market.watch.no_own": "This chat has no tickers of its own. Add one with /watch add TICKER.",
}
ZH: dict[str, str] = {
    "market.price.header": "<b>价格</b>",
    "market.price.quote": "<b>{symbol}</b> {price}",
    "market.price.change": "24小时 {change}",
    "market.price.age": "{age} 前",
    "market.price.stale": "⚠️ 数据过期",
    "market.price.missing": "<b>{symbol}</b> 暂无价格",
    "market.price.not_collecting": "没有运行中的数据源:以下是最后保存的价格。",
    "market.corr.header": "<b>BTC 与 {symbol} 的相关性</b>(日收益率)",
    "market.corr.value": "{window}({sessions} 个交易日):<b>{value}</b>",
    "market.corr.change": "10 个交易日变化 {change}",
    "market.corr.no_value": "{window}({sessions} 个交易日):数据尚不足",
    "market.corr.range": "数据:{range}",
    "market.corr.not_enough": "BTC 与 {symbol} 的数据尚不足:共同的日收益率只有 {count} 个,{window}相关性需要 {needed} 个。",
    "market.corr.caption": "BTC 与 {symbol}:{window}滚动相关性,价格以起点 = 100",
    "market.earnings.header": "🗓 <b>即将发布的财报</b> · 时间为 {tz}",
    "market.earnings.after_close": "• <b>{symbol}</b> 美股收盘后,{local} 起",
    "market.earnings.before_open": "• <b>{symbol}</b> 美股开盘前,{local} 之前",
    "market.earnings.unknown": "• <b>{symbol}</b> 美国时间 {date},具体时间未公布",
    "market.earnings.more": "……另有 {count} 个",
    "market.earnings.none": "{symbols} 暂无已知的即将发布的财报。",
    "market.watch.header": "<b>关注列表</b>",
    "market.watch.defaults": "始终关注:{symbols}",
    "market.watch.own": "本聊天自己的({count}/{limit}):{symbols}",
    "market.watch.no_own": "本聊天还没有自己的股票。用 /watch add 代码 添加。",
}
register_messages(EN, ZH)


def listed(lang: str, symbols: Sequence[str]) -> str:
    """``NVDA, AMD`` / ``NVDA、AMD``."""
    return t(lang, "alert.list_sep").join(symbols)


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
        parts.append(t(lang, "market.price.age", age=format_age(now - quote.ts)))
        if symbol in stale:
            parts.append(t(lang, "market.price.stale"))
        lines.append(" · ".join(parts))
    if not collecting:
        lines += ["", t(lang, "market.price.not_collecting")]
    return "\n".join(lines)


def corr_text(lang: str, symbol: str, readings: Mapping[int, CorrelationReading | None]) -> str:
    """Each window's value and 10-session change, then the dates the returns span."""
    lines = [t(lang, "market.corr.header", symbol=symbol)]
    for window, reading in readings.items():
        name = fmt_window(window, lang)
        if reading is None:
            lines.append(t(lang, "market.corr.no_value", window=name, sessions=window))
            continue
        line = t(lang, "market.corr.value", window=name, sessions=window, value=fmt_corr(reading.value))
        if reading.earlier is not None:
            change = fmt_corr(reading.value - reading.earlier, signed=True)
            line += " · " + t(lang, "market.corr.change", change=change)
        lines.append(line)
    known = [r for r in readings.values() if r is not None]
    if known:
        span = fmt_date_range(min(r.start for r in known), max(r.end for r in known), lang)
        lines.append(t(lang, "market.corr.range", range=span))
    return "\n".join(lines)


def corr_not_enough(lang: str, symbol: str, returns: int, window: int) -> str:
    return t(lang, "market.corr.not_enough", symbol=symbol, count=returns,
             window=fmt_window(window, lang), needed=window)


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
