"""Numbers, dates and times as a reader wants them: pure functions, no locale, no I/O.

* :func:`fmt_price` -- ``92,541``, ``188.80``, ``0.5432``
* :func:`fmt_pct` -- ``−10.8 %``, ``+0.6 %`` (Chinese: ``−10.8%``)
* :func:`fmt_corr` -- ``0.53``, ``−0.12``
* :func:`fmt_time` -- ``Thu 11 Dec 2025, 16:00 CET`` / ``2025年12月11日 周四 15:00 UTC``
* :func:`fmt_date`, :func:`fmt_date_range`, :func:`fmt_window`, :func:`zone`

Negative numbers use the real minus sign (U+2212). A missing or non-finite number
is shown as :data:`MISSING`. Naive datetimes are taken as UTC; an unknown timezone
name falls back to UTC instead of failing.
"""

from __future__ import annotations

import functools
import logging
import math
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.markettime import assume_utc

logger = logging.getLogger(__name__)

MINUS = "\u2212"
MISSING = "—"

_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZH_DAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# Zones that mean "Beijing time" to a Chinese reader; their abbreviation "CST" would read as US Central.
_BEIJING = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
_WINDOW_DAYS = {21: 30, 63: 90}  # trading days -> the calendar span people call it by


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def fmt_price(value: float | None) -> str:
    """A price: ``92,541`` (≥ 10,000 or a round level ≥ 1,000), ``188.80``, ``0.5432`` (4 significant digits)."""
    if not _finite(value):
        return MISSING
    size = abs(value)
    sign = MINUS if value < 0 else ""
    if size >= 10_000 or (size >= 1_000 and round(size, 2) == round(size)):
        text = f"{size:,.0f}"
    elif round(size, 4) >= 1:
        text = f"{size:,.2f}"
    elif size < 1e-12:
        return "0"
    else:
        decimals = min(12, 3 - math.floor(math.log10(size)))
        text = f"{size:.{decimals}f}".rstrip("0")
        if len(text.split(".")[1]) < 2:
            text = f"{size:.2f}"
    return sign + text


def fmt_pct(value: float | None, lang: str = "en", signed: bool = True) -> str:
    """A percentage with one decimal: ``+0.6 %``, ``−10.8 %``, ``0.0 %``; ``signed=False``: ``10.8 %``.

    A value that rounds to zero keeps its sign (``+0.0 %``); Chinese puts no space before ``%``.
    """
    if not _finite(value):
        return MISSING
    number = f"{abs(value):,.1f}"
    sign = ("+" if value > 0 else MINUS if value < 0 else "") if signed else ""
    return f"{sign}{number}{'%' if lang == 'zh' else ' %'}"


def fmt_corr(value: float | None, signed: bool = False) -> str:
    """A correlation with two decimals: ``0.53``, ``−0.12``; ``signed=True`` adds ``+`` (a change: ``+0.31``)."""
    if not _finite(value):
        return MISSING
    number = f"{abs(value):.2f}"
    if number == "0.00":
        return number
    if value < 0:
        return MINUS + number
    return ("+" if signed else "") + number


def fmt_window(days: int, lang: str = "en") -> str:
    """A correlation window in trading days as people say it: 21 → ``30d``, 63 → ``90d``, 10 → ``10d``."""
    span = _WINDOW_DAYS.get(days, days)
    return f"{span}日" if lang == "zh" else f"{span}d"


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
    key = getattr(tz, "key", None)
    if lang == "zh" and key in _BEIJING:
        return "北京时间"
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
    """An instant in the reader's timezone.

    ``Thu 11 Dec 2025, 16:00 CET`` / ``2025年12月11日 周四 23:00 北京时间``
    """
    chosen = zone(tz)
    try:
        local = assume_utc(dt).astimezone(chosen)
    except (OverflowError, ValueError):  # at the very ends of the datetime range
        chosen, local = UTC, assume_utc(dt).astimezone(UTC)
    label = _zone_label(local, chosen, lang)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {_ZH_DAYS[local.weekday()]} {clock} {label}"
    return f"{_EN_DAYS[local.weekday()]} {local.day} {_EN_MONTHS[local.month - 1]} {local.year}, {clock} {label}"


def fmt_date(day: date, lang: str = "en", weekday: bool = True, year: bool = False) -> str:
    """A calendar date: ``Wed 10 Dec`` (``year``: ``Wed 10 Dec 2025``) / ``12月10日 周三``."""
    if lang == "zh":
        text = (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日"
        return f"{text} {_ZH_DAYS[day.weekday()]}" if weekday else text
    text = f"{day.day} {_EN_MONTHS[day.month - 1]}" + (f" {day.year}" if year else "")
    return f"{_EN_DAYS[day.weekday()]} {text}" if weekday else text


def fmt_weekday(day: date, lang: str = "en") -> str:
    """The day's name: ``Monday`` / ``周一``."""
    return (_ZH_DAYS if lang == "zh" else _EN_DAY_NAMES)[day.weekday()]


def fmt_date_range(start: date | None, end: date | None, lang: str = "en") -> str:
    """``12 Nov – 11 Dec 2025`` / ``2025年11月12日至12月11日`` (the year once when both share it)."""
    if start is None or end is None or start == end:
        only = start or end
        return fmt_date(only, lang, weekday=False, year=True) if only else MISSING
    same_year = start.year == end.year
    if lang == "zh":
        first = fmt_date(start, lang, weekday=False, year=True)
        return f"{first}至{fmt_date(end, lang, weekday=False, year=not same_year)}"
    first = fmt_date(start, lang, weekday=False, year=not same_year)
    return f"{first} – {fmt_date(end, lang, weekday=False, year=True)}"
