"""Alert events → Telegram HTML, in the chat's language and timezone (no I/O).

Usage::

    text = render(alert, lang="zh", tz="Asia/Shanghai")   # bold headline, a few context lines, the time
    for part in split_message(text):                      # only needed past 4,096 characters
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
    print(render_plain(alert, "en", "UTC"))               # the same message for a terminal

Every message is a bold headline with the symbol, the direction and the one number
that matters, then the context (both from the rule that decided the alert), then the
alert's time in the chat's timezone. Only tags Telegram supports are produced (``b``,
``i``); every value from an alert is escaped (by :func:`bot.i18n.t`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from telegram.constants import MessageLimit

from bot.domain import Alert
from bot.formatting import fmt_age, fmt_clock, fmt_time, zone
from bot.i18n import DEFAULT_LANGUAGE, languages, tn
from bot.rules.registry import render_lines

MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # Telegram's limit for a text message (UTF-16 units)
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # ... and for a photo's caption


def render(alert: Alert, lang: str = DEFAULT_LANGUAGE, tz: str | tzinfo | None = "UTC") -> str:
    """The alert as Telegram HTML: bold headline, context lines, then the time in ``tz`` (UTC if unknown)."""
    return render_message([alert], lang, tz)


def render_message(
    alerts: Sequence[Alert],
    lang: str = DEFAULT_LANGUAGE,
    tz: str | tzinfo | None = "UTC",
    notes: Mapping[int, str] | None = None,
) -> str:
    """One message telling several alerts of the same moment, the most important first: each its
    bold headline and context, a blank line between them, then the latest of their times.
    ``notes``: a line for this chat under the headline of the alert at that index ("your alert #3")."""
    if not alerts:
        raise ValueError("a message tells at least one alert")
    lang = lang if lang in languages() else DEFAULT_LANGUAGE
    where = zone(tz)
    rendered = [render_lines(alert, lang, where) for alert in alerts]
    for index, note in (notes or {}).items():
        rendered[index].insert(1, note)
    blocks = []
    for i, (headline, *context) in enumerate(rendered):
        # A context line the next alerts about the same name repeat (the daily bar they were
        # seen in, the same high) is said once, by the last of them.
        later = {
            line
            for alert, lines in zip(alerts[i + 1 :], rendered[i + 1 :], strict=True)
            if alert.symbol == alerts[i].symbol
            for line in lines[1:]
        }
        blocks.append("\n".join([f"<b>{headline}</b>", *(line for line in context if line not in later)]))
    latest = max(alert.time for alert in alerts)
    return "\n\n".join(blocks) + f"\n<i>{fmt_time(latest, where, lang)}</i>"


EXPIRED_LISTED = 20  # alerts an expiry summary names one by one; the rest are counted


def render_expired(
    alerts: Sequence[Alert],
    lang: str,
    tz: str | tzinfo | None,
    *,
    max_age: timedelta,
    unreachable_since: datetime | None,
) -> str:
    """One message in place of alerts that grew older than ``max_age`` before they could be sent:
    how many, why (Telegram unreachable since …, when known), and each one's time and headline."""
    if not alerts:
        raise ValueError("a summary lists at least one alert")
    lang = lang if lang in languages() else DEFAULT_LANGUAGE
    where = zone(tz)
    age = fmt_age(max_age, lang)
    if unreachable_since is not None:
        since = fmt_time(unreachable_since, where, lang)
        header = tn(lang, "delivery.expired_unreachable", len(alerts), since=since, age=age)
    else:
        header = tn(lang, "delivery.expired", len(alerts), age=age)
    ordered = sorted(alerts, key=lambda alert: alert.time)
    lines = [header]
    for alert in ordered[:EXPIRED_LISTED]:
        headline = _TAG.sub("", render_lines(alert, lang, where)[0])
        lines.append(f"• <i>{fmt_clock(alert.time, where, lang)}</i> · {headline}")
    if len(ordered) > EXPIRED_LISTED:
        lines.append(tn(lang, "delivery.expired_more", len(ordered) - EXPIRED_LISTED))
    lines.append(f"<i>{fmt_time(ordered[-1].time, where, lang)}</i>")
    return "\n".join(lines)


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
