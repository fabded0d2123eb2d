"""What /settings and /set show: every setting of a chat, its mutes, the on/off buttons (no I/O).

The settings are the ones the rules declare (``bot.rules.registry.SETTINGS``): their
names, labels, help lines and how their values read all come from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.formatting import fmt_groups, fmt_setting, fmt_time
from bot.i18n import Html, t
from bot.quiet import SILENT_CHOICES
from bot.rules.contract import Setting
from bot.rules.registry import QUIET, SETTINGS, SILENT, group_of
from bot.store import own_levels

TOGGLE = "settings:"  # callback data: TOGGLE + the setting's name
SWITCHES = tuple(s for s in SETTINGS if s.value_type is bool)
QUIET_HOURS = "23:00-07:00"  # what the quiet-hours button turns on (/quiet sets others)
STEPPED = tuple(s for s in SETTINGS if s.name in ("move", "shock", "corr"))  # thresholds: − / + buttons
BUTTON_NAMES = frozenset(
    {s.name for s in SWITCHES}
    | {"quiet"}
    | {f"silent:{choice}" for choice in SILENT_CHOICES}
    | {f"step:{s.name}:{way}" for s in STEPPED for way in "+-"}
)
"""What the /settings buttons carry (after ``settings:``): anything else is not ours."""


def effective(chosen: Mapping[str, Any], settings: Settings, setting: Setting[Any]) -> tuple[Any, bool]:
    """A setting's value for the chat, and whether that is the bot's default."""
    default = setting.default(settings)
    value = chosen.get(setting.name)
    return (default, True) if value is None or value == default else (value, False)


@dataclass(frozen=True, slots=True)
class SettingsView:
    """What /settings shows of one chat."""

    chosen: Mapping[str, Any]  # what the chat chose (decoded); the rest is at the default
    levels: int
    timezone: str
    mutes: dict[str, datetime]
    subscribed: bool


def render_settings(lang: str, view: SettingsView, settings: Settings) -> str:
    """Every setting of the chat ("default" marked), its levels, language, timezone and mutes."""
    lines = [t(lang, "settings.header")]
    for setting in SETTINGS:
        value, is_default = effective(view.chosen, settings, setting)
        shown = setting.show(value, lang)
        if is_default:
            shown = t(lang, "settings.default", value=shown)
        lines.append(t(lang, "settings.line", setting=t(lang, setting.label), value=shown))
    lines += [
        t(lang, "settings.levels", count=view.levels, limit=own_levels.MAX_CHAT_LEVELS),
        t(lang, "settings.language", language=t(lang, "language.name")),
        t(lang, "settings.timezone", timezone=view.timezone),
    ]
    if view.mutes:
        lines.append(t(lang, "settings.muted", mutes=Html(render_mutes(lang, view.mutes, view.timezone))))
    else:
        lines.append(t(lang, "settings.not_muted"))
    lines.append(t(lang, "settings.subscribed" if view.subscribed else "settings.unsubscribed"))
    lines += ["", t(lang, "settings.footer")]
    return "\n".join(lines)


def render_set_help(lang: str) -> str:
    """How /set is used: one line per setting, with its range."""
    lines = [t(lang, "set.usage.header"), *(t(lang, s.help) for s in SETTINGS), t(lang, "set.usage.footer")]
    return "\n".join(lines)


def render_mutes(lang: str, mutes: dict[str, datetime], timezone: str) -> str:
    """``Level breaks until Thu 11 Dec 2025, 16:00 CET; ...`` (one entry per /mute name)."""
    ends: dict[str, datetime] = {}
    for kind, until in mutes.items():
        group = group_of(kind)
        ends[group] = max(until, ends.get(group, until))
    return fmt_groups(
        lang,
        (
            t(lang, "mute.until", what=t(lang, f"mute.{group}"), until=fmt_time(until, timezone, lang))
            for group, until in ends.items()
        ),
    )


def keyboard(lang: str, chosen: Mapping[str, Any], settings: Settings) -> InlineKeyboardMarkup:
    """One button per on/off setting, one for quiet hours (on at 23:00–07:00, or off), one per
    kind that may be silent; pressing one switches it (:func:`toggled`)."""
    buttons = []
    for setting in SWITCHES:
        value, _ = effective(chosen, settings, setting)
        label = t(lang, f"button.{setting.name}", value=fmt_setting(value, lang))
        buttons.append(InlineKeyboardButton(label, callback_data=TOGGLE + setting.name))
    hours, _ = effective(chosen, settings, QUIET)
    buttons.append(
        InlineKeyboardButton(t(lang, "button.quiet", value=QUIET.show(hours, lang)), callback_data=TOGGLE + "quiet")
    )
    silent, _ = effective(chosen, settings, SILENT)
    quiet_kinds = [
        InlineKeyboardButton(
            t(lang, "button.silent_on" if choice in silent else "button.silent_off", kind=t(lang, f"silent.{choice}")),
            callback_data=f"{TOGGLE}silent:{choice}",
        )
        for choice in SILENT_CHOICES
    ]
    steps = []
    for setting in STEPPED:
        label = t(lang, setting.label)
        down = InlineKeyboardButton(
            t(lang, "button.step_down", setting=label), callback_data=f"{TOGGLE}step:{setting.name}:-"
        )
        up = InlineKeyboardButton(
            t(lang, "button.step_up", setting=label), callback_data=f"{TOGGLE}step:{setting.name}:+"
        )
        steps.append([down, up])
    return InlineKeyboardMarkup([buttons, quiet_kinds[:3], quiet_kinds[3:], *steps])


def stepped(setting: Setting[Any], value: Any, way: str) -> Any:
    """``value`` one step up or down (0.5σ, or 1 percentage point), parsed as ``/set`` would:
    raises :class:`~bot.values.BadArgument` past the setting's range."""
    unit = getattr(value, "unit", "")
    step = 0.5 if unit == "σ" else 1.0
    new = round(value.value + (step if way == "+" else -step), 2)
    return setting.parse(f"{new:g}{unit}")


def toggled(name: str, chosen: Mapping[str, Any], settings: Settings) -> tuple[Setting[Any], Any] | None:
    """The setting a /settings button switches and its new value; None for a button not ours."""
    switch = next((s for s in SWITCHES if s.name == name), None)
    if switch is not None:
        value, _ = effective(chosen, settings, switch)
        return switch, not value
    if name == "quiet":
        hours, _ = effective(chosen, settings, QUIET)
        return QUIET, None if hours else QUIET_HOURS
    if name.startswith("step:"):
        _, setting_name, way = [*name.split(":"), "", ""][:3]
        step = next((s for s in STEPPED if s.name == setting_name), None)
        if step is None or way not in ("+", "-"):
            return None
        value, _ = effective(chosen, settings, step)
        return step, stepped(step, value, way)
    choice = name.removeprefix("silent:")
    if name.startswith("silent:") and choice in SILENT_CHOICES:
        silent, _ = effective(chosen, settings, SILENT)
        flipped = set(silent) ^ {choice}
        return SILENT, tuple(c for c in SILENT_CHOICES if c in flipped)
    return None
