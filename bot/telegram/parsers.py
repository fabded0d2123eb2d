"""Parsing what each command is given: pure functions, no I/O.

Each parser takes the words after the command and returns plain data, or raises
:class:`~bot.values.BadArgument` for the handler to turn into one line (see
:func:`bot.telegram.kit.parsed`). What needs the database (is the symbol tracked?) is
checked by the handler, which raises the same exception.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from bot import values as args
from bot.i18n import languages, template
from bot.rules.contract import Setting
from bot.rules.registry import MUTE_GROUPS, QUIET, SETTINGS, setting_named
from bot.values import BadArgument

T = TypeVar("T")

# -- /alert ---------------------------------------------------------------------------------

ALERT_ACTIONS = {
    "add": "add",
    "new": "add",
    "list": "list",
    "ls": "list",
    "del": "del",
    "delete": "del",
    "remove": "del",
    "rm": "del",
    "rearm": "rearm",
    "arm": "rearm",
    "re-arm": "rearm",
    "重新启用": "rearm",
}
DIRECTIONS = {
    "above": "above",
    "over": "above",
    ">": "above",
    "up": "above",
    "高于": "above",
    "below": "below",
    "under": "below",
    "<": "below",
    "down": "below",
    "低于": "below",
}


MODES = {
    "once": "once", "1x": "once", "一次": "once",
    "every": "every", "each": "every", "always": "every", "每次": "every",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewLevel:
    """``/alert add``: a price (or a move in % from the price now) and, if said, a direction."""

    symbol: str
    direction: str | None  # "above" | "below"; None: the side of the price now decides
    price: float | None = None
    pct: float | None = None  # +5 or -3: that far from the price now (the direction follows)
    mode: str = "once"  # "once" | "every"
    expires_in: timedelta | None = None


ADD_USAGE = "/alert add btc 88000"
DEL_USAGE = "/alert del 3"
REARM_USAGE = "/alert rearm 3"


@dataclass(frozen=True, slots=True)
class AlertRequest:
    action: str  # "list", "add", "del" or "rearm"
    level: NewLevel | None = None
    level_id: int | None = None


def alert_request(words: list[str]) -> AlertRequest:
    """``list`` (or nothing), ``add <symbol> [above|below] <price|±N%> [once|every] [<expiry>]``,
    ``del <id>``, ``rearm <id>``."""
    args.joined(words)
    if not words:
        return AlertRequest("list")
    action = ALERT_ACTIONS.get(words[0].strip().lower())
    if action is None:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": "add, list, del, rearm"})
    rest = words[1:]
    if action == "add":
        return AlertRequest("add", level=_with_usage(new_level, rest, ADD_USAGE))
    if action in ("del", "rearm"):
        usage = DEL_USAGE if action == "del" else REARM_USAGE
        return AlertRequest(action, level_id=_with_usage(level_id, rest, usage))
    args.at_most(rest, 0)
    return AlertRequest("list")


def optional(parse: Callable[[list[str]], T]) -> Callable[[list[str]], T | None]:
    """A parser for commands that show the current value when given nothing."""

    def parse_optional(words: list[str]) -> T | None:
        args.joined(words)
        return parse(words) if words else None

    return parse_optional


def _with_usage(parse: Callable[[list[str]], T], words: list[str], usage: str) -> T:
    try:
        return parse(words)
    except BadArgument as error:
        error.usage = error.usage or usage
        raise


def new_level(words: list[str]) -> NewLevel:
    """``<symbol> [above|below] <price|+5%|-3%> [once|every] [<expiry: 7d, 12h>]``."""
    args.need(words, 2)
    args.at_most(words, 5)
    symbol = args.symbol(words[0])
    rest = words[1:]
    direction = DIRECTIONS.get(rest[0].strip().lower())
    if direction is not None:
        rest = rest[1:]
    elif not any(c.isdigit() for c in rest[0]):  # a word, not a price: a direction mistyped
        raise BadArgument("args.choice", {"text": rest[0][:30], "options": "above, below"})
    if not rest:
        raise BadArgument("args.missing")
    price, pct = _level_price(rest[0], direction)
    mode, expires_in = "once", None
    for word in rest[1:]:
        if (chosen := MODES.get(word.strip().lower())) is not None:
            mode = chosen
        elif args.DURATION.match(word.strip().lower()):
            expires_in = args.duration(word)
        else:
            raise BadArgument("alert.bad_option", {"text": word[:30]})
    if pct is not None and direction is None:
        direction = "above" if pct > 0 else "below"
    return NewLevel(symbol, direction, price, pct, mode, expires_in)


def _level_price(text: str, direction: str | None) -> tuple[float | None, float | None]:
    """A price, or a move from the price now: ``+5%``, ``-3%`` (``5%`` after above or below)."""
    word = text.strip()
    if not word.endswith("%"):
        return args.price(word), None
    sign = {"+": 1.0, "-": -1.0, "−": -1.0}.get(word[0])
    if sign is None:
        if direction is None:
            raise BadArgument("alert.pct_sign", {"text": word[:30]})
        sign = 1.0 if direction == "above" else -1.0
        word = "+" + word
    pct = args.number(word[1:], low=0.01, high=1000 if sign > 0 else 99.99) * sign
    if direction is not None and (direction == "above") != (pct > 0):
        raise BadArgument("alert.pct_direction", {"text": text.strip()[:30], "direction": direction})
    return None, pct


def level_id(words: list[str]) -> int:
    """The id of a level as /alert list shows it: ``7`` or ``#7``."""
    args.need(words, 1)
    args.at_most(words, 1)
    text = words[0].strip().removeprefix("#")
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise BadArgument("alert.bad_id", {"text": words[0][:30]})
    return int(text)


# -- /set -----------------------------------------------------------------------------------

DEFAULT_WORDS = ("default", "reset")
SetRequest = tuple[Setting[Any], Any]  # the setting, and its new value (None: back to the default)
MuteRequest = tuple[str, timedelta]


def set_request(words: list[str]) -> SetRequest | None:
    """Nothing (None: show how /set is used), or ``<name> <value>``."""
    args.joined(words)
    return setting_change(words) if words else None


def setting_change(words: list[str]) -> SetRequest:
    """``<name> <value>``, the setting one the rules declare; ``default`` goes back to the bot's default."""
    args.need(words, 2)
    args.at_most(words, 2)
    setting = setting_named(words[0])
    if setting is None:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": ", ".join(s.name for s in SETTINGS)})
    if setting.resettable and words[1].strip().lower() in DEFAULT_WORDS:
        return setting, None
    return setting, setting.parse(words[1])


# -- /quiet ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    hours: str | None  # "23:00-07:00"; None: off


QuietRequest = QuietHours | None  # None: show the chat's quiet hours


def quiet_request(words: list[str]) -> QuietRequest:
    """Nothing (show them), ``off``, or ``23:00-07:00`` (spaces around the dash allowed)."""
    text = args.joined(words)
    return QuietHours(QUIET.parse(text)) if text else None


# -- /mute, /unmute ---------------------------------------------------------------------------

MUTE_ALIASES = {
    "level": "level_break",
    "levels": "level_break",
    "break": "level_break",
    "breaks": "level_break",
    "level_breaks": "level_break",
    "level-break": "level_break",
    "价位": "level_break",
    "corr": "correlation",
    "correlations": "correlation",
    "correlation_spike": "correlation",
    "相关性": "correlation",
    "shock": "earnings",
    "shocks": "earnings",
    "earnings_shock": "earnings",
    "heads-up": "earnings",
    "earnings_upcoming": "earnings",
    "earnings_reversal": "earnings",
    "reversal": "earnings",
    "财报": "earnings",
    "moves": "move",
    "large_move": "move",
    "large-move": "move",
    "market_move": "move",
    "market": "move",
    "gap": "move",
    "gaps": "move",
    "异动": "move",
    "everything": "all",
    "全部": "all",
}


def mute_group(text: str) -> str:
    word = text.strip().lower()
    group = word if word in MUTE_GROUPS else MUTE_ALIASES.get(word)
    if group is None:
        raise BadArgument("args.choice", {"text": text[:30], "options": ", ".join(MUTE_GROUPS)})
    return group


def mute(words: list[str]) -> MuteRequest:
    """``<kind|all> <duration>``."""
    args.need(words, 2)
    args.at_most(words, 2)
    return mute_group(words[0]), args.duration(words[1])


def unmute(words: list[str]) -> str:
    """``[kind|all]``, all if left out."""
    args.joined(words)
    args.at_most(words, 1)
    return mute_group(words[0]) if words else "all"


# -- /tz, /lang -------------------------------------------------------------------------------


def language_names() -> dict[str, str]:
    """Every word /lang understands → the language's code: its code, its own name, its aliases."""
    names: dict[str, str] = {}
    for code in languages():
        words = [code, template(code, "language.name"), *template(code, "language.aliases").split(",")]
        names.update({word.strip().lower(): code for word in words if word.strip()})
    return names


_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})  # files of the tz database, not zones


@functools.cache
def _zones() -> dict[str, str]:
    """Lower-cased IANA name → its spelling, for every zone this machine knows."""
    return {name.lower(): name for name in zoneinfo.available_timezones() if name not in _NOT_ZONES}


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
    code = language_names().get(words[0].strip().lower())
    if code is None:
        raise BadArgument("args.choice", {"text": words[0][:30], "options": ", ".join(languages())})
    return code


# -- /price, /corr, /earnings, /watch --------------------------------------------------------

MAX_PRICE_SYMBOLS = 10
MIN_WINDOW, MAX_WINDOW = 5, 260  # trading days
NAMED_WINDOWS = {"30d": 21, "90d": 63}
WATCH_ADD, WATCH_DELETE = ("add", "+"), ("del", "delete", "remove", "rm", "-")


def _listed(words: list[str]) -> list[str]:
    """The words split on spaces and commas (``/price btc,nvda``), after the length check."""
    return [w for w in re.split(r"[\s,]+", args.joined(words)) if w]


def price_symbols(words: list[str]) -> list[str]:
    """``[SYMBOL ...]``: at most ten, each once; none means "everything tracked"."""
    symbols = _listed(words)
    if len(symbols) > MAX_PRICE_SYMBOLS:
        raise BadArgument("market.args.too_many", {"limit": MAX_PRICE_SYMBOLS})
    return list(dict.fromkeys(args.symbol(w) for w in symbols))


def window(text: str) -> int:
    """A correlation window: ``30d``, ``90d`` or a whole number of trading days."""
    word = text.strip().lower()
    if word in NAMED_WINDOWS:
        return NAMED_WINDOWS[word]
    if re.fullmatch(r"\d+\s*d", word):
        raise BadArgument("market.args.window", {"text": text[:30]})
    value = args.number(word, low=MIN_WINDOW, high=MAX_WINDOW)
    if value != int(value):
        raise BadArgument("market.args.window", {"text": text[:30]})
    return int(value)


@dataclass(frozen=True, slots=True)
class CorrRequest:
    symbol: str
    window: int | None  # None: the configured windows


def corr_request(words: list[str]) -> CorrRequest:
    """``TICKER [WINDOW]``."""
    listed = _listed(words)
    if not listed:
        raise BadArgument("args.missing")
    args.at_most(listed, 2)
    return CorrRequest(args.symbol(listed[0]), window(listed[1]) if len(listed) == 2 else None)


def no_arguments(words: list[str]) -> None:
    args.at_most(_listed(words), 0)


@dataclass(frozen=True, slots=True)
class WatchRequest:
    action: str  # "list", "add", "del" or "rearm"
    symbol: str | None = None


def watch_request(words: list[str]) -> WatchRequest:
    """Nothing or ``list``; ``add TICKER``; ``del TICKER``."""
    listed = _listed(words)
    if not listed or listed[0].lower() == "list":
        args.at_most(listed, 1)
        return WatchRequest("list")
    action = listed[0].lower()
    if action not in WATCH_ADD + WATCH_DELETE:
        raise BadArgument("args.choice", {"text": listed[0][:30], "options": "add, del, list"})
    if len(listed) < 2:
        raise BadArgument("args.missing")
    args.at_most(listed, 2)
    return WatchRequest("add" if action in WATCH_ADD else "del", args.symbol(listed[1]))
