"""Quiet hours and silent kinds: when an alert arrives without a notification (pure, no I/O).

A chat sets quiet hours in its own timezone (``/quiet 23:00-07:00``, ``/set quiet off``): an
alert sent in those hours arrives silently (Telegram's ``disable_notification``), never later
and never dropped. Some kinds of alert are silent at any hour (``/set silent heads-up,move``;
the earnings heads-up by default). A message is silent when it is sent in quiet hours or when
every alert in it is of a silent kind (one loud alert makes it ring).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time

from bot.formatting import fmt_list, zone
from bot.i18n import t
from bot.markettime import assume_utc
from bot.values import BadArgument

HOURS = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*[-–—~]\s*(\d{1,2})(?::(\d{2}))?$")
OFF_WORDS = ("off", "none", "no", "关")
HEADS_UP = "earnings_upcoming"
SILENT_CHOICES = ("level_break", "move", "correlation", "earnings", "heads-up")
"""What ``/set silent`` names: the ``/mute`` groups, the earnings heads-up apart from the rest."""
DEFAULT_SILENT: tuple[str, ...] = ("heads-up",)
ALIASES = {"levels": "level_break", "level": "level_break", "moves": "move", "corr": "correlation",
           "headsup": "heads-up", "heads_up": "heads-up"}  # fmt: skip


def parse_hours(text: str) -> str | None:
    """``23:00-07:00`` (or ``23-7``, ``22:30–6:00``) as ``23:00-07:00``; ``off``: None."""
    word = text.strip().lower()
    if word in OFF_WORDS:
        return None
    match = HOURS.match(word)
    if match is None:
        raise BadArgument("quiet.bad_hours", {"text": text[:30]})
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise BadArgument("quiet.bad_hours", {"text": text[:30]})
    if (h1, m1) == (h2, m2):
        raise BadArgument("quiet.empty", {"text": text[:30]})
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def in_quiet_hours(now: datetime, tz: str, hours: str | None) -> bool:
    """Whether ``now`` falls in ``hours`` (``23:00-07:00``, in the chat's zone ``tz``)."""
    if not hours:
        return False
    start_text, end_text = hours.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = assume_utc(now).astimezone(zone(tz)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight


def parse_silent(text: str) -> tuple[str, ...]:
    """``heads-up,move`` (or ``none``) as the silent choices, in their order."""
    word = text.strip().lower()
    return () if word in OFF_WORDS else _choices(word, SILENT_CHOICES, SILENT_CHOICES)


def silent_kinds(choices: Iterable[str], groups: Mapping[str, Sequence[str]]) -> frozenset[str]:
    """The alert kinds the silent ``choices`` cover, given the ``/mute`` groups the rules declare."""
    kinds: set[str] = set()
    for choice in choices:
        if choice == "heads-up":
            kinds.add(HEADS_UP)
        elif choice in groups:
            kinds.update(k for k in groups[choice] if k != HEADS_UP)
    return frozenset(kinds)


def is_silent(
    kinds: Sequence[str],
    now: datetime,
    tz: str,
    hours: str | None,
    choices: Iterable[str],
    groups: Mapping[str, Sequence[str]],
) -> bool:
    """Whether a message of alerts of ``kinds`` goes out without a notification."""
    quiet_kinds = silent_kinds(choices, groups)
    return in_quiet_hours(now, tz, hours) or (bool(kinds) and all(kind in quiet_kinds for kind in kinds))


RECEIVE_CHOICES = ("level_break", "move", "correlation", "earnings")
"""What a chat may turn off for good (``/set receive``, the /start buttons): the ``/mute`` groups."""


def parse_receive(text: str) -> tuple[str, ...]:
    """``level_break,earnings`` (or ``all``) as the kinds a chat receives, in their order."""
    word = text.strip().lower()
    if word == "all":
        return RECEIVE_CHOICES
    chosen = _choices(word, RECEIVE_CHOICES, ("all", *RECEIVE_CHOICES))
    if not chosen:
        raise BadArgument("args.missing")
    return chosen


def _choices(word: str, allowed: Sequence[str], offered: Sequence[str]) -> tuple[str, ...]:
    """The names in ``word`` (``heads-up,move``, ``levels、corr``), each one of ``allowed``, in
    ``allowed``'s order; a name not allowed is refused, ``offered`` named in the error."""
    chosen = set()
    for part in filter(None, re.split(r"[,\s、，]+", word)):
        name = ALIASES.get(part, part)
        if name not in allowed:
            raise BadArgument("args.choice", {"text": part[:30], "options": ", ".join(offered)})
        chosen.add(name)
    return tuple(c for c in allowed if c in chosen)


def turned_off(received: Iterable[str], groups: Mapping[str, Sequence[str]]) -> frozenset[str]:
    """The alert kinds of the groups a chat does not receive (muted with no end)."""
    kept = set(received)
    return frozenset(kind for group in RECEIVE_CHOICES if group not in kept for kind in groups.get(group, ()))


def show_received(value: Sequence[str], lang: str) -> str:
    if tuple(value) == RECEIVE_CHOICES:
        return t(lang, "receive.all")
    return fmt_list(lang, [t(lang, f"silent.{choice}") for choice in value]) or t(lang, "silent.none")


def show_hours(value: str | None, lang: str) -> str:
    return t(lang, "settings.off") if not value else value.replace("-", "–")


def show_silent(value: Sequence[str], lang: str) -> str:
    if not value:
        return t(lang, "silent.none")
    return fmt_list(lang, [t(lang, f"silent.{choice}") for choice in value])
