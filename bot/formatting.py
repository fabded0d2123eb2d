"""Numbers, dates, times and durations as a reader of each language writes them: pure, no I/O.

* :func:`fmt_price` -- ``92,541``, ``188.80``, ``0.5432``
* :func:`fmt_pct` -- ``−10.8 %``, ``+0.6 %`` (Chinese: ``−10.8%``)
* :func:`fmt_corr` -- ``0.53``, ``−0.12``
* :func:`fmt_clock` -- ``Tue 14:00``, for a recent moment inside a message
* :func:`fmt_clock_span` -- ``Tue 14:49`` and ``15:00``, for a recent span inside a message
* :func:`fmt_time` -- ``Thu 11 Dec 2025, 16:00 CET`` / ``2025年12月11日 周四 15:00 北京时间``
* :func:`fmt_age` -- ``2d 3h`` / ``2天3小时``
* :func:`fmt_date`, :func:`fmt_date_range`, :func:`fmt_weekday`, :func:`fmt_window`, :func:`zone`

Babel formats every number and date in the language's locale (its catalogue's
``Language``: grouping and decimal signs, day and month names, duration units); the
catalogue gives the patterns (``format.*`` messages), so a translator decides how a date
reads. Negative numbers use the real minus sign (U+2212). A missing or non-finite
number is shown as :data:`MISSING`. Naive datetimes are taken as UTC; an unknown
timezone name falls back to UTC instead of failing.
"""

from __future__ import annotations

import decimal
import functools
import html
import logging
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_interval
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from bot.i18n import locale_of, template
from bot.markettime import assume_utc
from bot.values import Threshold

logger = logging.getLogger(__name__)

MINUS = "\u2212"
MISSING = "—"

# Zones that mean "Beijing time" to a Chinese reader; their abbreviation "CST" would read as US Central.
_BEIJING = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
_WINDOW_DAYS = {21: 30, 63: 90}  # trading days -> the calendar span people call it by


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def _number(size: float, pattern: str, lang: str) -> str:
    try:
        return format_decimal(size, pattern, locale=locale_of(lang))
    except decimal.InvalidOperation:  # beyond Decimal's 28 digits: no price is that large
        return f"{size:,.0f}"


def fmt_price(value: float | None, lang: str = "en") -> str:
    """A price: ``92,541`` (≥ 10,000 or a round level ≥ 1,000), ``188.80``, ``0.5432`` (4 significant digits)."""
    if not _finite(value):
        return MISSING
    assert value is not None
    size = abs(value)
    sign = MINUS if value < 0 else ""
    if size >= 10_000 or (size >= 1_000 and round(size, 2) == round(size)):
        pattern = "#,##0"
    elif round(size, 4) >= 1:
        pattern = "#,##0.00"
    elif size < 1e-12:
        return "0"
    else:
        decimals = min(12, 3 - math.floor(math.log10(size)))
        pattern = "0.00" + "#" * max(0, decimals - 2)
    return sign + _number(size, pattern, lang)


def fmt_pct(value: float | None, lang: str = "en", signed: bool = True, *, small: bool = False) -> str:
    """A percentage with one decimal: ``+0.6 %``, ``−10.8 %``, ``0.0 %``; ``signed=False``: ``10.8 %``.

    A value that rounds to zero keeps its sign (``+0.0 %``); ``small``: two decimals below
    0.1 (``0.02 %``, for a distance that is small but not nothing). Where the ``%`` goes is
    the catalogue's (``format.percent``): English ``10.8 %``, Chinese ``10.8%``.
    """
    if not _finite(value):
        return MISSING
    assert value is not None
    sign = ("+" if value > 0 else MINUS if value < 0 else "") if signed else ""
    number = _number(abs(value), "#,##0.00" if small and abs(value) < 0.095 else "#,##0.0", lang)
    return sign + template(lang, "format.percent").format(number=number)


def fmt_sigmas(value: float | None, lang: str = "en") -> str:
    """A size in standard deviations, one decimal: ``2.6σ``."""
    if not _finite(value):
        return MISSING
    assert value is not None
    return _number(abs(value), "#,##0.0", lang) + "σ"


def fmt_corr(value: float | None, signed: bool = False, lang: str = "en") -> str:
    """A correlation with two decimals: ``0.53``, ``−0.12``; ``signed=True`` adds ``+`` (a change: ``+0.31``)."""
    if not _finite(value):
        return MISSING
    assert value is not None
    number = _number(abs(value), "0.00", lang)
    if number == _number(0, "0.00", lang):
        return number
    if value < 0:
        return MINUS + number
    return ("+" if signed else "") + number


def fmt_window(days: int, lang: str = "en") -> str:
    """A correlation window in trading days as people say it: 21 → ``30d``, 63 → ``90d``, 10 → ``10d``."""
    return template(lang, "format.window").format(days=_WINDOW_DAYS.get(days, days))


def fmt_age(delta: timedelta, lang: str = "en") -> str:
    """How long, to the unit that matters: ``2d 3h``, ``4h 5m``, ``3h``, ``12m``, ``40s`` / ``2天3小时``."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        amounts = [(days, "duration-day"), (hours, "duration-hour")]
    elif hours:
        amounts = [(hours, "duration-hour"), (minutes, "duration-minute")]
    elif minutes:
        amounts = [(minutes, "duration-minute")]
    else:
        amounts = [(secs, "duration-second")]
    amounts = amounts[:1] + [(amount, unit) for amount, unit in amounts[1:] if amount]  # 3h, not 3h 0m
    locale = locale_of(lang)
    parts = [format_unit(amount, unit, length="narrow", locale=locale) for amount, unit in amounts]
    return format_list(parts, style="unit-narrow", locale=locale)


@functools.lru_cache(maxsize=256)
def _zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError, TypeError):  # ZoneInfoNotFoundError is a KeyError
        logger.warning("unknown timezone %r, showing times in UTC", name)
        return UTC


def zone(tz: str | tzinfo | None) -> tzinfo:
    """The timezone named ``tz`` (an IANA name such as ``Europe/Berlin``), UTC if unknown or empty."""
    if isinstance(tz, tzinfo):
        return tz
    if not tz or not isinstance(tz, str) or tz.upper() == "UTC":
        return UTC
    return _zone_named(tz)


def _zone_label(local: datetime, tz: tzinfo, lang: str) -> str:
    if getattr(tz, "key", None) in _BEIJING:
        return template(lang, "format.zone.beijing")
    offset = local.utcoffset() or timedelta(0)
    name = local.tzname() or ""
    if tz is UTC or name in ("UTC", "Z") or (not name and not offset):
        return "UTC"
    if name.isascii() and name.isalpha() and not (name == "CST" and offset == timedelta(hours=8)):
        return name
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def fmt_time(dt: datetime, tz: str | tzinfo | None = "UTC", lang: str = "en") -> str:
    """An instant in the reader's timezone: ``Thu 11 Dec 2025, 16:00 CET`` / ``2025年12月11日 周四 23:00 北京时间``."""
    chosen = zone(tz)
    try:
        local = assume_utc(dt).astimezone(chosen)
    except (OverflowError, ValueError):  # at the very ends of the datetime range
        chosen, local = UTC, assume_utc(dt).astimezone(UTC)
    locale = locale_of(lang)
    day = format_date(local.date(), template(lang, "format.date_weekday_year"), locale=locale)
    clock = format_datetime(local.replace(tzinfo=None), template(lang, "format.time"), locale=locale)
    return template(lang, "format.datetime").format(date=day, time=clock, zone=_zone_label(local, chosen, lang))


def fmt_clock(dt: datetime, tz: str | tzinfo | None = "UTC", lang: str = "en") -> str:
    """A recent instant, short, in the reader's timezone (the message's footer names the zone): ``Tue 14:00``."""
    local = assume_utc(dt).astimezone(zone(tz))
    return format_datetime(local.replace(tzinfo=None), template(lang, "format.weekday_time"), locale=locale_of(lang))


def fmt_clock_span(
    start: datetime, end: datetime, tz: str | tzinfo | None = "UTC", lang: str = "en"
) -> tuple[str, str]:
    """A recent span, short: ``("Tue 14:49", "15:00")``; the end names its day too if it is another one."""
    where = zone(tz)
    last = assume_utc(end).astimezone(where)
    if assume_utc(start).astimezone(where).date() != last.date():
        return fmt_clock(start, where, lang), fmt_clock(end, where, lang)
    clock = format_datetime(last.replace(tzinfo=None), template(lang, "format.time"), locale=locale_of(lang))
    return fmt_clock(start, where, lang), clock


def fmt_date(day: date, lang: str = "en", weekday: bool = True, year: bool = False) -> str:
    """A calendar date: ``Wed 10 Dec`` (``year``: ``Wed 10 Dec 2025``) / ``12月10日 周三``."""
    key = "format.date" + ("_weekday" if weekday else "") + ("_year" if year else "")
    return format_date(day, template(lang, key), locale=locale_of(lang))


def fmt_weekday(day: date, lang: str = "en") -> str:
    """The day's name: ``Monday`` / ``周一``."""
    return format_date(day, template(lang, "format.weekday"), locale=locale_of(lang))


def fmt_date_range(start: date | None, end: date | None, lang: str = "en") -> str:
    """``12 Nov – 11 Dec 2025`` / ``2025年11月12日至12月11日`` (the year once when both share it)."""
    if start is None or end is None or start == end:
        only = start or end
        return fmt_date(only, lang, weekday=False, year=True) if only else MISSING
    return format_interval(start, end, "yMMMd", locale=locale_of(lang))


def fmt_list(lang: str, items: Iterable[str]) -> str:
    """Items as a list in the language: ``NVDA, AMD`` / ``NVDA、AMD``."""
    return template(lang, "alert.list_sep").join(items)


def fmt_groups(lang: str, groups: Iterable[str]) -> str:
    """Lists of lists: ``BTC 90,000, 92,000; ETH 3,000`` / ``BTC 90,000、92,000；ETH 3,000``."""
    return template(lang, "alert.group_sep").join(groups)


_SYMBOL_CHARS = 24  # longer "symbols" are cut: a ticker is never this long


def fmt_symbol(value: object) -> str:
    """A name from an alert on one line, without control characters, cut if absurdly long."""
    text = "".join(c for c in " ".join(str(value).split()) if c.isprintable())
    return text if len(text) <= _SYMBOL_CHARS else text[: _SYMBOL_CHARS - 1] + "…"


NASDAQ = "QQQ"  # the Nasdaq-100 fund, named so beside its ticker
VENUES = {"binance": "Binance", "okx": "OKX", "kraken": "Kraken", "coinbase": "Coinbase", "yfinance": "Yahoo Finance"}


def fmt_venue(source: str, market: str | None, lang: str) -> str:
    """Where a price came from, as a reader names it: ``Binance · BTC/USDT``, ``Yahoo Finance``,
    ``recorded data · BTC/USD`` (the replay), ``Binance · BTC/USDT, confirmed on OKX``."""
    from bot.i18n import t

    first, *others = source.split("+")  # "binance+okx": seen on Binance, confirmed on OKX
    name = t(lang, "venue.replay") if first == "replay" else _venue_name(first)
    said = f"{name} · {fmt_symbol(market)}" if market else name
    if others:
        said = t(lang, "venue.confirmed", venue=said, others=fmt_list(lang, map(_venue_name, others)))
    return said


def _venue_name(source: str) -> str:
    return VENUES.get(source, fmt_symbol(source).title())


def fmt_ticker(symbol: str, lang: str = "en") -> str:
    """A ticker in a list of names, escaped for HTML: ``NVDA``, ``QQQ (Nasdaq)``."""
    name = fmt_symbol(symbol)
    if name == NASDAQ:
        return template(lang, "alert.shock.nasdaq").format(symbol=name)
    return html.escape(name, quote=False)


def headline_pct(value: float | None, lang: str) -> str:
    """A move in an alert's headline: signed (``−10.8 %``) or not (``10.8%``, a verb says which
    way), as the language's catalogue says (``format.headline_sign``)."""
    return fmt_pct(value, lang, signed=template(lang, "format.headline_sign") == "signed")


def fmt_timing(lang: str, timing: str | None) -> str:
    """`` after the close`` / ``盘后`` for a report's timing; nothing when it is not known."""
    return template(lang, f"alert.timing.{timing}") if timing in ("after_close", "before_open") else ""


def fmt_setting(value: object, lang: str) -> str:
    """A per-chat setting's value: ``on``/``off``, ``5 %``, ``3σ``, ``0.80``."""
    if isinstance(value, bool):
        return template(lang, "settings.on" if value else "settings.off")
    if isinstance(value, Threshold):
        if value.unit == "σ":
            return f"{_number(value.value, '#,##0.##', lang)}σ"
        return template(lang, "format.percent").format(number=_number(value.value, "#,##0.##", lang))
    if isinstance(value, (int, float)):
        return fmt_corr(float(value), lang=lang)
    return str(value)
