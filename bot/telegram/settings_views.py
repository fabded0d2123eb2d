"""What /settings shows: every setting of a chat, its mutes, and the on/off buttons (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.formatting import fmt_corr, fmt_time
from bot.i18n import Html, register_messages, t
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
        t(lang, "settings.language", language=t(lang, f"language.{lang}")),
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



EN = {
    "cmd.settings": "This chat's settings, with on/off buttons",
    "cmd.set": "Change a threshold: /set corr 0.8, /set charts off",
    "cmd.mute": "Mute alerts for a while: /mute move 2h",
    "cmd.unmute": "End a mute: /unmute move, or all",
    "setting.corr": "Correlation threshold",
    "setting.jump": "Correlation jump (10 sessions)",
    "setting.shock": "Earnings shock",
    "setting.move": "Large move (24 h)",
    "setting.charts": "Charts",
    "setting.heads-up": "Earnings heads-up",
    "settings.header": "<b>Settings of this chat</b>",
    "settings.line": "{setting}: {value}",
    "settings.default": "{value} (default)",
    "settings.on": "on",
    "settings.off": "off",
    "settings.levels": "Own levels: {count} of {limit} (/alert list)",
    "settings.language": "Language: {language} (/lang)",
    "settings.timezone": "Timezone: {timezone} (/tz)",
    "settings.muted": "Muted: {mutes}",
    "settings.not_muted": "Muted: nothing (/mute)",
    "settings.subscribed": "Alerts: this chat is subscribed",
    "settings.unsubscribed": "Alerts: this chat is not subscribed (/start)",
    "settings.footer": "Change one: /set corr 0.8 · /set move 3 · /mute move 2h. The buttons switch charts and heads-ups.",
    "button.charts": "📊 Charts: {value}",
    "button.heads-up": "🗓 Heads-up: {value}",
    "language.en": "English",
    "language.zh": "中文",
    "set.done": "✅ {setting}: {value}",
    "set.default": "✅ {setting}: back to the default, {value}",
    "set.usage": (
        "<b>/set</b> changes one setting of this chat:\n"
        "/set corr 0.8 — correlation alert threshold (0.05 to 1)\n"
        "/set jump 0.4 — correlation rise within 10 sessions (0.05 to 2)\n"
        "/set shock 7 — earnings shock in % (0.5 to 50)\n"
        "/set move 5 — large move within 24 h in % (0.5 to 50)\n"
        "/set charts on|off — a chart with each alert\n"
        "/set heads-up on|off — a note the day before a tech name reports\n"
        "“default” instead of a number goes back to the bot's default. /settings shows them all."
    ),
    "mute.level_break": "Level breaks",
    "mute.correlation": "Correlation alerts",
    "mute.earnings": "Earnings alerts (shocks and heads-ups)",
    "mute.move": "Large moves",
    "mute.all": "All alerts",
    "mute.until": "{what} until {until}",
    "mute.done": "🔕 {what} muted until {until}. Alerts muted meanwhile are not sent later.",
    "unmute.done": "🔔 {what}: unmuted.",
    "unmute.not_muted": "{what}: not muted.",
    "unmute.still": "Still muted: {mutes}",
}
ZH = {
    "cmd.settings": "本聊天的设置(含开关按钮)",
    "cmd.set": "修改阈值:/set corr 0.8、/set charts off",
    "cmd.mute": "暂时静音提醒:/mute move 2h",
    "cmd.unmute": "取消静音:/unmute move,或全部",
    "setting.corr": "相关性阈值",
    "setting.jump": "相关性跃升(10 个交易日)",
    "setting.shock": "财报冲击",
    "setting.move": "大幅波动(24 小时)",
    "setting.charts": "图表",
    "setting.heads-up": "财报预告",
    "settings.header": "<b>本聊天的设置</b>",
    "settings.line": "{setting}:{value}",
    "settings.default": "{value}(默认)",
    "settings.on": "开",
    "settings.off": "关",
    "settings.levels": "自定价位:{count} / {limit}(/alert list)",
    "settings.language": "语言:{language}(/lang)",
    "settings.timezone": "时区:{timezone}(/tz)",
    "settings.muted": "已静音:{mutes}",
    "settings.not_muted": "已静音:无(/mute)",
    "settings.subscribed": "提醒:本聊天已订阅",
    "settings.unsubscribed": "提醒:本聊天未订阅(/start)",
    "settings.footer": "修改:/set corr 0.8 · /set move 3 · /mute move 2h。按钮可开关图表和财报预告。",
    "button.charts": "📊 图表:{value}",
    "button.heads-up": "🗓 财报预告:{value}",
    "language.en": "English",
    "language.zh": "中文",
    "set.done": "✅ {setting}:{value}",
    "set.default": "✅ {setting}:已恢复默认值 {value}",
    "set.usage": (
        "<b>/set</b> 修改本聊天的一项设置:\n"
        "/set corr 0.8 — 相关性提醒阈值(0.05 到 1)\n"
        "/set jump 0.4 — 10 个交易日内相关性上升幅度(0.05 到 2)\n"
        "/set shock 7 — 财报冲击幅度 %(0.5 到 50)\n"
        "/set move 5 — 24 小时大幅波动 %(0.5 到 50)\n"
        "/set charts on|off — 每条提醒附图表\n"
        "/set heads-up on|off — 科技股财报前一天提醒\n"
        "用 “default” 代替数字可恢复默认值。/settings 查看全部设置。"
    ),
    "mute.level_break": "价位突破",
    "mute.correlation": "相关性提醒",
    "mute.earnings": "财报提醒(冲击和预告)",
    "mute.move": "大幅波动",
    "mute.all": "全部提醒",
    "mute.until": "{what} 至 {until}",
    "mute.done": "🔕 {what}已静音至 {until}。静音期间的提醒之后不会补发。",
    "unmute.done": "🔔 {what}:已取消静音。",
    "unmute.not_muted": "{what}:未静音。",
    "unmute.still": "仍在静音:{mutes}",
}
register_messages(EN, ZH)
