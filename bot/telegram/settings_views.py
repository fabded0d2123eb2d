"""What /settings shows: every setting of a chat, its mutes, and the on/off buttons (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.formatting import fmt_corr, fmt_time
from bot.i18n import Html, t
from bot.store import prefs
from bot.store.prefs import ChosenSettings
from bot.telegram import parsers as parse
from bot.telegram.parsers import SETTINGS, Setting

TOGGLE = "settings:"  # callback data: TOGGLE + column
SWITCHES = tuple(s for s in SETTINGS if s.switch)


def effective(chosen: ChosenSettings, defaults: Settings, setting: Setting) -> tuple[float | bool, bool]:
    """A setting's value for the chat, and whether that is the bot's default."""
    value = getattr(chosen, setting.column)
    if setting.switch:  # stored as on/off, never NULL: "on" is the default
        return (True if value is None else value), value in (None, True)
    return (getattr(defaults, setting.column), True) if value is None else (value, False)


def show_value(lang: str, setting: Setting, value: float | bool) -> str:
    if setting.switch:
        return t(lang, "settings.on" if value else "settings.off")
    if setting.percent:
        return f"{value:g}{'%' if lang == 'zh' else ' %'}"
    return fmt_corr(float(value))


@dataclass(frozen=True, slots=True)
class SettingsView:
    """What /settings shows of one chat."""

    chosen: ChosenSettings
    levels: int
    timezone: str
    mutes: dict[str, datetime]
    subscribed: bool


def render_settings(lang: str, view: SettingsView, defaults: Settings) -> str:
    """Every setting of the chat ("default" marked), its levels, language, timezone and mutes."""
    lines = [t(lang, "settings.header")]
    for setting in SETTINGS:
        value, is_default = effective(view.chosen, defaults, setting)
        shown = show_value(lang, setting, value)
        if is_default:
            shown = t(lang, "settings.default", value=shown)
        lines.append(t(lang, "settings.line", setting=t(lang, f"setting.{setting.name}"), value=shown))
    lines += [
        t(lang, "settings.levels", count=view.levels, limit=prefs.MAX_CHAT_LEVELS),
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


def render_mutes(lang: str, mutes: dict[str, datetime], timezone: str) -> str:
    """``Level breaks until Thu 11 Dec 2025, 16:00 CET; ...`` (one entry per /mute name)."""
    ends: dict[str, datetime] = {}
    for kind, until in mutes.items():
        group = parse.group_of(kind)
        ends[group] = max(until, ends.get(group, until))
    return "; ".join(
        t(lang, "mute.until", what=t(lang, f"mute.{group}"), until=fmt_time(until, timezone, lang))
        for group, until in ends.items()
    )


def keyboard(lang: str, chosen: ChosenSettings, defaults: Settings) -> InlineKeyboardMarkup:
    """One button per on/off setting; pressing it switches the setting."""
    buttons = []
    for setting in SWITCHES:
        value, _ = effective(chosen, defaults, setting)
        label = t(lang, f"button.{setting.name}", value=show_value(lang, setting, value))
        buttons.append(InlineKeyboardButton(label, callback_data=TOGGLE + setting.column))
    return InlineKeyboardMarkup([buttons])
