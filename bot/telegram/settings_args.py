"""Parsing the arguments of the per-chat settings commands: pure functions, no I/O.

Each parser takes the words after the command and returns plain data, or raises
:class:`~bot.telegram.args.BadArgument` for the handler to turn into one line.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.i18n import LANGUAGES
from bot.telegram import args
from bot.telegram.args import BadArgument

# -- /alert ---------------------------------------------------------------------------------

ALERT_ACTIONS = {"add": "add", "new": "add", "list": "list", "ls": "list",
                 "del": "del", "delete": "del", "remove": "del", "rm": "del"}
DIRECTIONS = {"above": "above", "over": "above", ">": "above", "up": "above", "高于": "above",
              "below": "below", "under": "below", "<": "below", "down": "below", "低于": "below"}


@dataclass(frozen=True, slots=True)
class NewLevel:
    symbol: str
    direction: str  # "above" | "below"
    price: float


def alert_action(words: list[str]) -> str:
    """``add``, ``list`` or ``del`` (``/alert`` alone lists)."""
    args.joined(words)
    if not words:
        return "list"
    action = ALERT_ACTIONS.get(words[0].strip().lower())
    if action is None:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": "add, list, del"})
    return action


def new_level(words: list[str], tracked: Sequence[str]) -> NewLevel:
    """``<symbol> above|below <price>``, the symbol one of ``tracked``."""
    args.need(words, 3)
    args.at_most(words, 3)
    symbol = args.symbol(words[0])
    if symbol not in tracked:
        raise BadArgument("alert.unknown_symbol", {"symbol": symbol, "tracked": ", ".join(tracked)})
    direction = DIRECTIONS.get(words[1].strip().lower())
    if direction is None:
        raise BadArgument("args.choice", {"text": words[1][:30], "options": "above, below"})
    return NewLevel(symbol, direction, args.price(words[2]))


def level_id(words: list[str]) -> int:
    """The id of a level as /alert list shows it: ``7`` or ``#7``."""
    args.need(words, 1)
    args.at_most(words, 1)
    text = words[0].strip().removeprefix("#")
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise BadArgument("alert.bad_id", {"text": words[0][:30]})
    return int(text)


# -- /set -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting /set changes: its column in ``chat_settings``, and its range if a number."""

    name: str  # the word after /set
    column: str
    low: float | None = None  # None: an on/off switch
    high: float | None = None
    percent: bool = False

    @property
    def switch(self) -> bool:
        return self.low is None


SETTINGS: tuple[Setting, ...] = (
    Setting("corr", "corr_threshold", 0.05, 1.0),
    Setting("jump", "corr_jump", 0.05, 2.0),
    Setting("shock", "shock_pct", 0.5, 50.0, percent=True),
    Setting("move", "move_pct", 0.5, 50.0, percent=True),
    Setting("charts", "charts"),
    Setting("heads-up", "heads_up"),
)
SETTING_ALIASES = {
    "correlation": "corr", "threshold": "corr", "corr_threshold": "corr", "corr_jump": "jump",
    "earnings": "shock", "shock_pct": "shock", "move_pct": "move", "chart": "charts",
    "headsup": "heads-up", "heads_up": "heads-up",
}
SETTING_NAMES = {s.name: s for s in SETTINGS}
SETTING_NAMES |= {alias: SETTING_NAMES[name] for alias, name in SETTING_ALIASES.items()}
SETTING_BY_COLUMN = {s.column: s for s in SETTINGS}
DEFAULT_WORDS = ("default", "reset")


def setting_change(words: list[str]) -> tuple[Setting, float | bool | None]:
    """``<name> <value>``; the value ``default`` (numbers only) is None: back to the bot's default."""
    args.need(words, 2)
    args.at_most(words, 2)
    setting = SETTING_NAMES.get(words[0].strip().lower())
    if setting is None:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": ", ".join(s.name for s in SETTINGS)})
    if setting.switch:
        return setting, args.on_off(words[1])
    if words[1].strip().lower() in DEFAULT_WORDS:
        return setting, None
    assert setting.low is not None and setting.high is not None
    return setting, args.number(words[1], low=setting.low, high=setting.high)


# -- /mute, /unmute ---------------------------------------------------------------------------

# What /mute names → the alert kinds it stops ("all" is understood by ChatPrefs.wants).
MUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "level_break": ("level_break",),
    "correlation": ("correlation_spike", "correlation_resolved"),
    "earnings": ("earnings_shock", "earnings_upcoming"),
    "move": ("large_move",),
    "all": ("all",),
}
MUTE_ALIASES = {
    "level": "level_break", "levels": "level_break", "break": "level_break", "breaks": "level_break",
    "level_breaks": "level_break", "level-break": "level_break", "价位": "level_break",
    "corr": "correlation", "correlations": "correlation", "correlation_spike": "correlation", "相关性": "correlation",
    "shock": "earnings", "shocks": "earnings", "earnings_shock": "earnings", "heads-up": "earnings",
    "earnings_upcoming": "earnings", "财报": "earnings",
    "moves": "move", "large_move": "move", "large-move": "move", "异动": "move",
    "everything": "all", "全部": "all",
}


def mute_group(text: str) -> str:
    word = text.strip().lower()
    group = word if word in MUTE_GROUPS else MUTE_ALIASES.get(word)
    if group is None:
        raise BadArgument("args.choice", {"text": text[:30], "options": ", ".join(MUTE_GROUPS)})
    return group


def mute(words: list[str]) -> tuple[str, timedelta]:
    """``<kind|all> <duration>``."""
    args.need(words, 2)
    args.at_most(words, 2)
    return mute_group(words[0]), args.duration(words[1])


def unmute(words: list[str]) -> str:
    """``[kind|all]``, all if left out."""
    args.joined(words)
    args.at_most(words, 1)
    return mute_group(words[0]) if words else "all"


def group_of(kind: str) -> str:
    """The /mute name of a stored alert kind (``correlation_spike`` → ``correlation``)."""
    return next((g for g, kinds in MUTE_GROUPS.items() if kind in kinds), kind)


# -- /tz, /lang -------------------------------------------------------------------------------

LANGUAGE_NAMES = {"en": "en", "english": "en", "英文": "en", "英语": "en",
                  "zh": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh"}


@functools.cache
def _zones() -> dict[str, str]:
    """Lower-cased IANA name → its spelling, for every zone this machine knows."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def timezone(words: list[str]) -> str:
    """An IANA zone (``Europe/Berlin``), in any case, or a city that names one zone (``berlin``)."""
    args.need(words, 1)
    text = "_".join(words).strip()
    if len(words) > 3 or len(text) > 40:
        raise BadArgument("tz.unknown", {"text": " ".join(words)[:40]})
    key = text.lower()
    if key in ("utc", "gmt", "z"):
        return "UTC"
    zones = _zones()
    if key in zones:
        return zones[key]
    cities = [name for lower, name in zones.items() if "/" in lower and lower.rsplit("/", 1)[1] == key]
    if len(cities) == 1:
        return cities[0]
    raise BadArgument("tz.unknown", {"text": " ".join(words)[:40]})


def language(words: list[str]) -> str:
    args.need(words, 1)
    args.at_most(words, 1)
    code = LANGUAGE_NAMES.get(words[0].strip().lower())
    if code is None or code not in LANGUAGES:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": ", ".join(LANGUAGES)})
    return code
