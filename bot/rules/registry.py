"""Every rule, in one place: the engine evaluates them in this order, and from them come the
alert kinds (and how their payloads are read back), the per-chat settings and the mute groups.

A new kind of alert is a new rule module (see :mod:`bot.rules.contract`) listed in ``RULES``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from pydantic import TypeAdapter

from bot import quiet
from bot.config import Settings
from bot.domain import AlertBase, decode_alert_as
from bot.rules import (
    correlation,
    earnings_close,
    earnings_extended,
    earnings_reversal,
    earnings_shock,
    earnings_upcoming,
    gap,
    large_move,
    levels,
    market_move,
)
from bot.rules.contract import Rule, Setting
from bot.values import on_off

log = logging.getLogger(__name__)

RULES: tuple[Rule[Any, Any, Any], ...] = (
    levels,
    large_move,
    market_move,
    earnings_extended,
    earnings_shock,
    earnings_reversal,
    earnings_close,
    gap,
    correlation,
    earnings_upcoming,
)

ALERT_TYPES: tuple[type[AlertBase], ...] = tuple(kind for rule in RULES for kind in rule.KINDS)
_TYPE_OF: dict[str, type[AlertBase]] = {kind.kind: kind for kind in ALERT_TYPES}
_RULE_OF: dict[str, Rule[Any, Any, Any]] = {kind.kind: rule for rule in RULES for kind in rule.KINDS}

CHARTS: Setting[bool] = Setting(
    "charts",
    bool,
    on_off,
    default=lambda settings: True,
    label="setting.charts",
    help="set.help.charts",
    example="/set charts off",
    aliases=("chart",),
    resettable=False,
)
QUIET: Setting[str | None] = Setting(
    "quiet",
    str | None,
    quiet.parse_hours,
    default=lambda settings: None,
    label="setting.quiet",
    help="set.help.quiet",
    example="/set quiet 23:00-07:00",
    aliases=("quiet-hours", "quiet_hours"),
    render=quiet.show_hours,
)
SILENT: Setting[tuple[str, ...]] = Setting(
    "silent",
    tuple[str, ...],
    quiet.parse_silent,
    default=lambda settings: quiet.DEFAULT_SILENT,
    label="setting.silent",
    help="set.help.silent",
    example="/set silent heads-up,move",
    render=quiet.show_silent,
)
RECEIVE: Setting[tuple[str, ...]] = Setting(
    "receive",
    tuple[str, ...],
    quiet.parse_receive,
    default=lambda settings: quiet.RECEIVE_CHOICES,
    label="setting.receive",
    help="set.help.receive",
    example="/set receive level_break,earnings",
    render=quiet.show_received,
)
SETTINGS: tuple[Setting[Any], ...] = (
    *(s for rule in RULES for s in rule.SETTINGS),
    CHARTS,
    QUIET,
    SILENT,
    RECEIVE,
)
"""Every per-chat setting, in the order /settings shows them."""

MUTE_GROUPS: dict[str, tuple[str, ...]] = {}
for _rule in RULES:
    MUTE_GROUPS.setdefault(_rule.MUTE_GROUP, ())
    MUTE_GROUPS[_rule.MUTE_GROUP] += tuple(kind.kind for kind in _rule.KINDS)
MUTE_GROUPS["all"] = ("all",)


IMPORTANCE: tuple[str, ...] = (
    "earnings_extended",
    "earnings_shock",
    "earnings_reversal",
    "earnings_close",
    "gap",
    "market_move",
    "level_break",
    "level_chop",
    "large_move",
    "correlation_spike",
    "correlation_resolved",
    "earnings_upcoming",
)
"""Alert kinds, most important first: the order of the alerts that share a message."""


def importance(kind: str) -> int:
    return IMPORTANCE.index(kind) if kind in IMPORTANCE else len(IMPORTANCE)


def decode_alert(kind: str, payload: str | bytes) -> AlertBase:
    """The alert of ``kind`` back from its stored payload; ``ValueError`` if it is not one."""
    cls = _TYPE_OF.get(kind)
    if cls is None:
        raise ValueError(f"unknown alert kind {kind!r}")
    return decode_alert_as(cls, payload)


def render_lines(alert: AlertBase, lang: str, tz: tzinfo) -> list[str]:
    """The lines of the alert's message (the first is its headline), by the rule that decided it."""
    rule = _RULE_OF.get(alert.kind)
    if rule is None:
        raise TypeError(f"no rule renders {type(alert).__name__}")
    return rule.render(alert, lang, tz)


def setting_named(word: str) -> Setting[Any] | None:
    """The setting ``/set <word>`` means (its name or an alias), or None."""
    word = word.strip().lower()
    return next((s for s in SETTINGS if word == s.name or word in s.aliases), None)


_CODECS: dict[str, TypeAdapter[Any]] = {s.name: TypeAdapter(s.value_type) for s in SETTINGS}


def encode_value(setting: Setting[Any], value: Any) -> str:
    """A setting's value as stored (JSON)."""
    return _CODECS[setting.name].dump_json(value).decode()


def decode_values(stored: Mapping[str, str]) -> dict[str, Any]:
    """A chat's stored settings read back; a setting no rule declares any more is left out."""
    values = {}
    for name, text in stored.items():
        codec = _CODECS.get(name)
        if codec is None:
            continue
        try:
            values[name] = codec.validate_json(text)
        except ValueError:
            log.warning("stored setting %s=%s cannot be read; using the default", name, text[:40])
    return values


def defaults(settings: Settings) -> dict[str, Any]:
    """Every setting at the bot's default."""
    return {s.name: s.default(settings) for s in SETTINGS}


def effective(chosen: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """A chat's settings: what it chose, the bot's defaults for the rest."""
    return defaults(settings) | {name: value for name, value in chosen.items() if value is not None}


def group_of(kind: str) -> str:
    """The /mute name of an alert kind (``correlation_spike`` → ``correlation``)."""
    return next((group for group, kinds in MUTE_GROUPS.items() if kind in kinds), kind)
