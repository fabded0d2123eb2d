"""Alert events → Telegram HTML, in the chat's language and timezone (no I/O).

Usage::

    text = render(alert, lang="zh", tz="Asia/Shanghai")   # bold headline, a few context lines, the time
    for part in split_message(text):                      # only needed past 4,096 characters
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
    print(render_plain(alert, "en", "UTC"))               # the same message for a terminal

Every message is a bold headline with the symbol, the direction and the one number
that matters, then the context, then the alert's time in the chat's timezone. Only
tags Telegram supports are produced (``b``, ``i``); every value from an alert is
escaped (by :func:`bot.i18n.t`, or here for lists built from several values).
"""

from __future__ import annotations

import html
import math
import re
from datetime import timedelta, tzinfo

from telegram.constants import MessageLimit

from bot.domain import (
    Alert,
    CorrelationResolved,
    CorrelationSpike,
    EarningsShock,
    EarningsUpcoming,
    LargeMove,
    LevelBreak,
)
from bot.formatting import (
    fmt_corr,
    fmt_date,
    fmt_date_range,
    fmt_pct,
    fmt_price,
    fmt_time,
    fmt_weekday,
    fmt_window,
    zone,
)
from bot.i18n import DEFAULT_LANGUAGE, Html, languages, t, template
from bot.markettime import NEW_YORK, assume_utc

MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # Telegram's limit for a text message (UTF-16 units)
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # ... and for a photo's caption
MAX_PEERS = 12  # an earnings shock lists at most this many peers, the largest moves first
MAX_WINDOWS = 6
NASDAQ_PROXY = "QQQ"
_SYMBOL_CHARS = 24  # longer "symbols" are cut: a ticker is never this long
# English headlines carry a signed number (“ORCL −10.8 % after earnings”);
# Chinese ones a verb, 上涨/下跌, and the size (“ORCL 财报后下跌 10.8%”).


def _symbol(value: object) -> str:
    """A name from an alert on one line, without control characters, cut if absurdly long."""
    text = "".join(c for c in " ".join(str(value).split()) if c.isprintable())
    return text if len(text) <= _SYMBOL_CHARS else text[: _SYMBOL_CHARS - 1] + "…"


def _headline_pct(value: float | None, lang: str) -> str:
    return fmt_pct(value, lang, signed=template(lang, "format.headline_sign") == "signed")


def _up(value: float | None) -> bool:
    return value is None or math.isnan(value) or value >= 0


def _timing(lang: str, timing: str | None) -> str:
    return t(lang, f"alert.timing.{timing}") if timing in ("after_close", "before_open") else ""


def _level_break(a: LevelBreak, lang: str, tz: tzinfo) -> list[str]:
    way = "down" if a.direction == "down" else "up"
    lines = [
        t(lang, f"alert.level.{way}", symbol=_symbol(a.symbol), level=fmt_price(a.level)),
        t(
            lang,
            f"alert.level.price_{way}",
            price=fmt_price(a.price),
            through=fmt_pct(a.through_pct, lang, signed=False),
        ),
    ]
    if fmt_price(a.extreme) != fmt_price(a.price):
        lines.append(t(lang, "alert.level.low" if way == "down" else "alert.level.high", extreme=fmt_price(a.extreme)))
    if a.bar_start is not None and a.time - a.bar_start >= timedelta(hours=6):
        # A daily bar tells the day's range, not when in the day the level went.
        lines.append(t(lang, "alert.level.daily_bar", day=fmt_date(a.bar_start.date(), lang, year=True)))
    return lines


def _window_values(windows: dict[str, float | None], lang: str) -> str:
    def label(key: str) -> tuple[int, str]:
        key = str(key).strip()
        if re.fullmatch(r"[0-9]{1,5}", key):
            return int(key), fmt_window(int(key), lang)
        return 10**6, html.escape(_symbol(key)[:12], quote=False)

    labelled = sorted(((label(key), value) for key, value in windows.items()), key=lambda item: item[0])[:MAX_WINDOWS]
    return " · ".join(f"{text} {fmt_corr(value)}" for (_, text), value in labelled)


def _correlation_context(a: CorrelationSpike | CorrelationResolved, lang: str) -> list[str]:
    lines = []
    if len(a.windows) > 1 or (a.windows and str(a.window) not in a.windows):
        lines.append(t(lang, "alert.corr.windows", values=Html(_window_values(a.windows, lang))))
    if a.previous is not None:
        lines.append(t(lang, "alert.corr.previous", previous=fmt_corr(a.previous)))
    if a.start or a.end:
        lines.append(t(lang, "alert.corr.range", range=fmt_date_range(a.start, a.end, lang)))
    return lines


def _correlation_spike(a: CorrelationSpike, lang: str, tz: tzinfo) -> list[str]:
    values = {"symbol": _symbol(a.symbol), "value": fmt_corr(a.value), "window": fmt_window(a.window, lang)}
    lines = [t(lang, "alert.corr.spike", **values)]
    if a.trigger == "jump":
        if a.change_10d is None:
            lines.append(t(lang, "alert.corr.jump_no_change", jump=fmt_corr(a.jump)))
        else:
            lines.append(t(lang, "alert.corr.jump", change=fmt_corr(a.change_10d), jump=fmt_corr(a.jump)))
    elif a.change_10d is None:
        lines.append(t(lang, "alert.corr.above", threshold=fmt_corr(a.threshold)))
    else:
        change = fmt_corr(a.change_10d, signed=True)
        lines.append(t(lang, "alert.corr.above_change", threshold=fmt_corr(a.threshold), change=change))
    return lines + _correlation_context(a, lang)


def _correlation_resolved(a: CorrelationResolved, lang: str, tz: tzinfo) -> list[str]:
    values = {"symbol": _symbol(a.symbol), "value": fmt_corr(a.value), "window": fmt_window(a.window, lang)}
    lines = [t(lang, "alert.corr.resolved", **values), t(lang, "alert.corr.below", threshold=fmt_corr(a.threshold))]
    return lines + _correlation_context(a, lang)


def _peers(peers: dict[str, float], lang: str) -> Html:
    def size(item: tuple[str, float]) -> float:
        return abs(item[1]) if isinstance(item[1], (int, float)) and math.isfinite(item[1]) else -1.0

    ranked = sorted(peers.items(), key=lambda item: (-size(item), str(item[0])))
    items = []
    for symbol, move in ranked[:MAX_PEERS]:
        name = _symbol(symbol)
        label = t(lang, "alert.shock.nasdaq", symbol=name) if name == NASDAQ_PROXY else html.escape(name, quote=False)
        items.append(f"{label} {fmt_pct(move, lang)}")
    if len(ranked) > MAX_PEERS:
        items.append(t(lang, "alert.shock.more_peers", count=len(ranked) - MAX_PEERS))
    return Html(t(lang, "alert.list_sep").join(items))


def _earnings_shock(a: EarningsShock, lang: str, tz: tzinfo) -> list[str]:
    symbol = _symbol(a.symbol)
    prices = {"open": fmt_price(a.open), "prior_close": fmt_price(a.prior_close)}
    if a.earnings and a.move_pct is not None:  # the day's move is the news; the gap is context
        way = "up" if _up(a.move_pct) else "down"
        headline = t(lang, f"alert.shock.earnings_{way}", symbol=symbol, move=_headline_pct(a.move_pct, lang))
        lines = [headline, t(lang, "alert.shock.gap_line", gap=fmt_pct(a.gap_pct, lang), **prices)]
    else:  # the gap is what fired (always so without a report)
        kind = "earnings_gap" if a.earnings else "gap"
        way = "up" if _up(a.gap_pct) else "down"
        lines = [
            t(lang, f"alert.shock.{kind}_{way}", symbol=symbol, move=_headline_pct(a.gap_pct, lang)),
            t(lang, "alert.shock.open_line", **prices),
        ]
        if a.move_pct is not None:
            lines.append(t(lang, "alert.shock.move_line", price=fmt_price(a.price), move=fmt_pct(a.move_pct, lang)))
    if not a.earnings:
        lines.append(t(lang, "alert.shock.no_report"))
    elif a.report_date is not None:
        reported = {"date": fmt_date(a.report_date, lang), "timing": _timing(lang, a.timing)}
        lines.append(t(lang, "alert.shock.reported", **reported))
    if a.peers:
        lines.append(t(lang, "alert.shock.peers", peers=_peers(a.peers, lang)))
    btc, corr = a.btc_move_pct, a.btc_corr_30d
    if btc is not None and corr is not None:
        lines.append(t(lang, "alert.shock.btc", move=fmt_pct(btc, lang), symbol=symbol, corr=fmt_corr(corr)))
    elif btc is not None:
        lines.append(t(lang, "alert.shock.btc_move", move=fmt_pct(btc, lang)))
    elif corr is not None:
        lines.append(t(lang, "alert.shock.btc_corr", symbol=symbol, corr=fmt_corr(corr)))
    return lines


def _earnings_upcoming(a: EarningsUpcoming, lang: str, tz: tzinfo) -> list[str]:
    """Today/tomorrow are New York dates: said only when the reader's calendar agrees, else the date is given."""
    try:
        today = assume_utc(a.time).astimezone(NEW_YORK).date()
        same_day = assume_utc(a.time).astimezone(tz).date() == today
    except (OverflowError, ValueError):
        today, same_day = a.report_date, False
    days = (a.report_date - today).days if same_day else None
    values = {"symbol": _symbol(a.symbol), "timing": _timing(lang, a.timing)}
    if days in (0, 1):
        key = "alert.upcoming.today" if days == 0 else "alert.upcoming.tomorrow"
        return [t(lang, key, date=fmt_date(a.report_date, lang), **values)]
    if days is not None and 2 <= days <= 6:
        weekday = fmt_weekday(a.report_date, lang)
        day = fmt_date(a.report_date, lang, weekday=False)
        return [t(lang, "alert.upcoming.weekday", weekday=weekday, date=day, **values)]
    return [t(lang, "alert.upcoming.date", date=fmt_date(a.report_date, lang, year=True), **values)]


def _large_move(a: LargeMove, lang: str, tz: tzinfo) -> list[str]:
    way = "down" if a.direction == "down" else "up"
    move = _headline_pct(a.move_pct, lang)
    prices = {
        "price": fmt_price(a.price),
        "reference": fmt_price(a.reference_price),
        "reference_time": fmt_time(a.reference_time, tz, lang),
    }
    return [
        t(lang, f"alert.move.{way}", symbol=_symbol(a.symbol), move=move, hours=a.hours),
        t(lang, "alert.move.prices", hours=a.hours, **prices),
    ]


_RENDERERS = {
    LevelBreak: _level_break,
    CorrelationSpike: _correlation_spike,
    CorrelationResolved: _correlation_resolved,
    EarningsShock: _earnings_shock,
    EarningsUpcoming: _earnings_upcoming,
    LargeMove: _large_move,
}


def render(alert: Alert, lang: str = DEFAULT_LANGUAGE, tz: str | tzinfo | None = "UTC") -> str:
    """The alert as Telegram HTML: bold headline, context lines, then the time in ``tz`` (UTC if unknown)."""
    lang = lang if lang in languages() else DEFAULT_LANGUAGE
    renderer = _RENDERERS.get(type(alert))
    if renderer is None:
        raise TypeError(f"no renderer for {type(alert).__name__}")
    where = zone(tz)
    headline, *context = renderer(alert, lang, where)  # type: ignore[operator]
    return "\n".join([f"<b>{headline}</b>", *context, f"<i>{fmt_time(alert.time, where, lang)}</i>"])


_TAG = re.compile(r"<[^>]*>")


def render_plain(alert: Alert, lang: str = DEFAULT_LANGUAGE, tz: str | tzinfo | None = "UTC") -> str:
    """The same message as plain text for a terminal: tags stripped, entities unescaped."""
    return html_to_plain(render(alert, lang, tz))


def html_to_plain(text: str) -> str:
    """Telegram HTML → plain text."""
    return html.unescape(_TAG.sub("", text))


# --- Splitting long messages ------------------------------------------------------------------

_TOKEN = re.compile(r"<[^>]*>|\s+|(?:&#?\w+;|[^\s<])+|<")  # tags, spaces, words (entities inside)
_ATOM = re.compile(r"&#?\w+;|.", re.DOTALL)  # a character or a whole entity
_TAG_PARTS = re.compile(r"<(/?)([a-zA-Z][\w-]*)")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji counts 2."""
    return len(text.encode("utf-16-le")) // 2


def _advance(stack: tuple[str, ...], fragment: str) -> tuple[str, ...]:
    """The open tags (their opening text) after ``fragment``, given those open before it."""
    open_tags = list(stack)
    for tag in re.findall(r"<[^>]*>", fragment):
        parts = _TAG_PARTS.match(tag)
        if not parts:
            continue
        closing, name = parts.groups()
        if not closing:
            open_tags.append(tag)
            continue
        for i in range(len(open_tags) - 1, -1, -1):
            if _TAG_PARTS.match(open_tags[i]).group(2) == name:  # type: ignore[union-attr]
                del open_tags[i]
                break
    return tuple(open_tags)


def _closing(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_TAG_PARTS.match(tag).group(2)}>" for tag in reversed(stack))  # type: ignore[union-attr]


class _Splitter:
    """Packs lines into parts of at most ``limit``; tags open at a cut are closed and reopened."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.start: tuple[str, ...] = ()  # tags open where the current part starts
        self.tags: tuple[str, ...] = ()  # tags open at the end of the current part
        self.body: list[str] = []
        self.size = 0
        self.fresh = True

    def _fits(self, text: str, tags: tuple[str, ...]) -> bool:
        total = telegram_length("".join(self.start)) + self.size + telegram_length(text + _closing(tags))
        return total <= self.limit

    def _append(self, text: str, tags: tuple[str, ...]) -> None:
        self.body.append(text)
        self.size += telegram_length(text)
        self.tags = tags
        self.fresh = False

    def flush(self) -> None:
        if not self.fresh and "".join(self.body).strip():
            self.parts.append("".join(self.start) + "".join(self.body) + _closing(self.tags))
        self.start, self.body, self.size, self.fresh = self.tags, [], 0, True

    def add_line(self, line: str) -> None:
        after = _advance(self.tags, line)
        text = line if self.fresh else "\n" + line
        if self._fits(text, after):
            return self._append(text, after)
        if not self.fresh:
            self.flush()
            if self._fits(line, after):
                return self._append(line, after)
        for token in _TOKEN.findall(line):  # a line longer than a part: cut between words
            self._add_token(token)

    def _add_token(self, token: str) -> None:
        after = _advance(self.tags, token)
        if self.fresh and token.isspace():
            return
        if self._fits(token, after):
            return self._append(token, after)
        self.flush()
        if token.isspace():
            return
        if self._fits(token, after):
            return self._append(token, after)
        if token.startswith("<") and len(token) > 1:
            raise ValueError(f"a single tag is longer than the limit of {self.limit}")
        for char in _ATOM.findall(token):  # one word longer than a part
            if not self._fits(char, self.tags):
                self.flush()
            self._append(char, self.tags)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` cut into parts of at most ``limit`` characters (UTF-16 units, as Telegram counts).

    Cuts fall between lines; a line longer than a part is cut between words (or
    characters), never inside a tag or an entity. A tag open at a cut is closed at the
    end of one part and reopened at the start of the next, so each part is valid HTML.
    """
    if limit < 32:
        raise ValueError(f"limit must be at least 32 (got {limit})")
    if telegram_length(text) <= limit:
        return [text]
    splitter = _Splitter(limit)
    for line in text.split("\n"):
        splitter.add_line(line)
    splitter.flush()
    return splitter.parts


def caption(text: str, limit: int = CAPTION_LIMIT) -> str:
    """``text`` as a photo caption: whole if it fits, else its first part followed by "…"."""
    if telegram_length(text) <= limit:
        return text
    return split_message(text, limit - 1)[0] + "…"
