"""Values people type (numbers, prices, thresholds, durations, on/off): one clear error each.

Every parser raises :class:`BadArgument` with a message key (and values) that the chat
handler turns into one line in the chat's language plus the command's usage example, and
``python -m bot replay --set`` into one line on stderr. Nothing here touches the database
or Telegram; the alert rules declare their settings with these parsers.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from bot.i18n import Html, t

MAX_INPUT = 200  # characters of arguments we even look at
SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
DURATION = re.compile(r"^(\d{1,4})\s*([mhdw])$")
DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_DURATION = timedelta(days=365)


@dataclass
class BadArgument(Exception):
    key: str  # a message key
    values: dict[str, Any] = field(default_factory=dict)
    usage: str | None = None  # the example to show, when not the command's own (a sub-command's)

    def message_en(self) -> str:
        """The one line, in English, as plain text (for the command line)."""
        return html.unescape(t("en", self.key, **self.values))


def explain(lang: str, error: BadArgument, usage: str) -> str:
    """The one line saying what is wrong, then the usage example."""
    example = Html(f"<code>{html.escape(error.usage or usage, quote=False)}</code>")
    return t(lang, error.key, **error.values) + "\n" + t(lang, "args.usage", example=example)


def joined(args: list[str]) -> str:
    text = " ".join(args).strip()
    if len(text) > MAX_INPUT:
        raise BadArgument("args.too_long", {"limit": MAX_INPUT})
    return text


def need(args: list[str], count: int) -> None:
    joined(args)
    if len(args) < count:
        raise BadArgument("args.missing")


def at_most(args: list[str], count: int) -> None:
    """No more than ``count`` words."""
    if len(args) > count:
        raise BadArgument("args.extra", {"text": " ".join(args[count:])[:30]})


def number(text: str, *, low: float, high: float, what: str = "number") -> float:
    """A finite number in [low, high]; accepts 90000, 90,000, 90_000, 90k, 1.5m, 5%."""
    raw = text.strip().lower().replace(",", "").replace("_", "").removesuffix("%")
    scale = 1.0
    if raw.endswith("k"):
        raw, scale = raw[:-1], 1e3
    elif raw.endswith("m"):
        raw, scale = raw[:-1], 1e6
    try:
        value = float(raw) * scale
    except ValueError:
        raise BadArgument("args.not_a_number", {"text": text[:30]}) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadArgument("args.out_of_range", {"text": text[:30], "low": f"{low:g}", "high": f"{high:,.10g}"})
    return value


def price(text: str) -> float:
    """A price above 0 and at most 10^9."""
    try:
        return number(text, low=1e-6, high=1e9)
    except BadArgument as error:
        if error.key == "args.out_of_range":
            raise BadArgument("args.bad_price", {"text": text[:30], "high": "1,000,000,000"}) from None
        raise


# Names people type for a ticker: ``bitcoin``, ``xbt`` (Kraken's), ``比特币``; ``$btc`` is BTC too.
ALIASES = {
    "BITCOIN": "BTC", "XBT": "BTC", "比特币": "BTC", "ETHEREUM": "ETH", "ETHER": "ETH", "以太坊": "ETH",
    "SOLANA": "SOL", "NASDAQ": "QQQ", "纳斯达克": "QQQ", "NVIDIA": "NVDA", "英伟达": "NVDA", "ORACLE": "ORCL",
    "甲骨文": "ORCL",
}  # fmt: skip


def symbol(text: str) -> str:
    """A ticker as the bot names it: ``btc``, ``$btc``, ``bitcoin`` and ``xbt`` are ``BTC``."""
    candidate = text.strip().upper().lstrip("$")
    candidate = ALIASES.get(candidate, candidate)
    if not SYMBOL.match(candidate):
        raise BadArgument("args.bad_symbol", {"text": text[:30]})
    return candidate


def duration(text: str) -> timedelta:
    match = DURATION.match(text.strip().lower())
    if not match:
        raise BadArgument("args.bad_duration", {"text": text[:30]})
    value = int(match.group(1)) * DURATION_UNITS[match.group(2)]
    if value <= timedelta(0) or value > MAX_DURATION:
        raise BadArgument("args.bad_duration", {"text": text[:30]})
    return value


def on_off(text: str) -> bool:
    word = text.strip().lower()
    if word in ("on", "yes", "true", "1", "开"):
        return True
    if word in ("off", "no", "false", "0", "关"):
        return False
    raise BadArgument("args.on_off", {"text": text[:30]})


def choice(text: str, options: tuple[str, ...]) -> str:
    word = text.strip().lower()
    if word not in options:
        raise BadArgument("args.choice", {"text": text[:30], "options": ", ".join(options)})
    return word


# -- thresholds of a move ---------------------------------------------------------------------

ThresholdUnit = Literal["%", "σ"]
_SIGMA_WORDS = ("σ", "sigma", "sigmas", "sd", "s", "std")
THRESHOLD_RANGE: dict[str, tuple[float, float]] = {"%": (0.5, 50.0), "σ": (1.0, 10.0)}


@dataclass(frozen=True, slots=True, order=True)
class Threshold:
    """How large a move must be: a percentage, or standard deviations (σ) of the name's own daily returns."""

    value: float
    unit: ThresholdUnit = "%"

    def __str__(self) -> str:
        return f"{self.value:g}{self.unit}"

    def pct(self, sigma_pct: float | None) -> float | None:
        """The threshold in %, given the name's σ of daily returns in % (None: σ unknown)."""
        if self.unit == "%":
            return self.value
        return None if sigma_pct is None or not sigma_pct > 0 else self.value * sigma_pct


def threshold(text: str) -> Threshold:
    """``5``, ``5%``, ``2.5 %`` (percent) or ``3σ``, ``3s``, ``3 sigma`` (standard deviations)."""
    raw = text.strip().lower().replace(" ", "")
    unit: ThresholdUnit = "%"
    for word in _SIGMA_WORDS:
        if raw.endswith(word) and raw[: -len(word)].replace(".", "", 1).isdigit():
            raw, unit = raw[: -len(word)], "σ"
            break
    low, high = THRESHOLD_RANGE[unit]
    try:
        value = number(raw, low=-math.inf, high=math.inf)
    except BadArgument:
        raise BadArgument("args.bad_threshold", {"text": text[:30]}) from None
    if not low <= value <= high:
        raise BadArgument(
            "args.threshold_range", {"text": text[:30], "low": f"{low:g}{unit}", "high": f"{high:g}{unit}"}
        )
    return Threshold(value, unit)
