"""Per-chat settings: /settings (with on/off buttons), /set, /mute and /unmute.

Anyone may read a chat's settings; in groups only admins change them. Every argument
is parsed by :mod:`bot.telegram.settings_args`; a bad one gets one line and a usage
example, and nothing is stored. The helpers at the top are shared with
:mod:`bot.telegram.alert_commands` and :mod:`bot.telegram.locale_commands`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.ext.filters import BaseFilter

from bot.config import Settings
from bot.formatting import fmt_corr, fmt_time
from bot.i18n import Html, register_messages, t
from bot.store import chats, prefs
from bot.store.prefs import ChosenSettings
from bot.telegram import settings_args as parse
from bot.telegram.access import is_chat_admin
from bot.telegram.args import BadArgument, explain
from bot.telegram.commands import _remember, _reply, chat_language
from bot.telegram.deps import Deps, deps
from bot.telegram.settings_args import SETTING_BY_COLUMN, SETTINGS, Setting

COMMANDS: tuple[tuple[str, str], ...] = (
    ("settings", "cmd.settings"),
    ("set", "cmd.set"),
    ("mute", "cmd.mute"),
    ("unmute", "cmd.unmute"),
)
SET_USAGE = "/set corr 0.8"
MUTE_USAGE = "/mute level_break|correlation|earnings|move|all 2h"
UNMUTE_USAGE = "/unmute move"
TOGGLE = "settings:"  # callback data: TOGGLE + column
SWITCHES = tuple(s for s in SETTINGS if s.switch)


# -- shared by the settings commands ---------------------------------------------------------


async def refused(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> bool:
    """True (and the chat told so) if the sender may not change this chat's settings."""
    if await is_chat_admin(update, context):
        return False
    await _reply(update, t(lang, "admin.only"))
    return True


async def reply_bad(update: Update, lang: str, error: BadArgument, usage: str) -> None:
    await _reply(update, explain(lang, error, usage))


def words(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


# -- rendering (no I/O) ----------------------------------------------------------------------


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


# -- handlers --------------------------------------------------------------------------------


def load_view(d: Deps, chat_id: int) -> SettingsView:
    chat = chats.get_chat(d.db, chat_id)
    return SettingsView(
        chosen=prefs.chosen_settings(d.db, chat_id),
        levels=len(prefs.levels_of(d.db, chat_id)),
        timezone=chat.timezone if chat else "UTC",
        mutes=prefs.active_mutes(d.db, chat_id, d.clock.now()),
        subscribed=bool(chat and chat.subscribed and not chat.blocked),
    )


async def show_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show every setting of this chat, with buttons for the on/off ones."""
    d = deps(context)
    lang = chat_language(d, update)
    view = load_view(d, update.effective_chat.id)
    markup = keyboard(lang, view.chosen, d.settings)
    await update.effective_message.reply_html(render_settings(lang, view, d.settings), reply_markup=markup)


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switch charts or heads-ups from the /settings buttons, then redraw the message."""
    query = update.callback_query
    d = deps(context)
    lang = chat_language(d, update)
    setting = SETTING_BY_COLUMN.get((query.data or "").removeprefix(TOGGLE))
    if setting is None or not setting.switch:
        await query.answer()
        return
    if not await is_chat_admin(update, context):
        await query.answer(t(lang, "admin.only"), show_alert=True)
        return
    chat = chats.get_chat(d.db, update.effective_chat.id) or _remember(d, update)
    value, _ = effective(prefs.chosen_settings(d.db, chat.id), d.settings, setting)
    prefs.set_thresholds(d.db, chat.id, d.clock.now(), **{setting.column: not value})
    lang = chat.language
    await query.answer(t(lang, "set.done", setting=t(lang, f"setting.{setting.name}"), value=show_value(lang, setting, not value)))
    view = load_view(d, chat.id)
    await query.edit_message_text(render_settings(lang, view, d.settings), reply_markup=keyboard(lang, view.chosen, d.settings))


async def set_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Change one threshold or switch of this chat: /set corr 0.8, /set charts off."""
    d = deps(context)
    lang = chat_language(d, update)
    if not context.args:
        await _reply(update, t(lang, "set.usage"))
        return
    if await refused(update, context, lang):
        return
    try:
        setting, value = parse.setting_change(words(context))
    except BadArgument as error:
        await reply_bad(update, lang, error, SET_USAGE)
        return
    chat = _remember(d, update)
    prefs.set_thresholds(d.db, chat.id, d.clock.now(), **{setting.column: value})
    shown = show_value(chat.language, setting, getattr(d.settings, setting.column) if value is None else value)
    key = "set.default" if value is None else "set.done"
    await _reply(update, t(chat.language, key, setting=t(chat.language, f"setting.{setting.name}"), value=shown))


async def mute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mute one kind of alert (or all) for a while: /mute move 2h."""
    d = deps(context)
    lang = chat_language(d, update)
    if context.args and await refused(update, context, lang):
        return
    try:
        group, duration = parse.mute(words(context))
    except BadArgument as error:
        await reply_bad(update, lang, error, MUTE_USAGE)
        return
    chat = _remember(d, update)
    until = d.clock.now() + duration
    for kind in parse.MUTE_GROUPS[group]:
        prefs.set_mute(d.db, chat.id, kind, until)
    what = t(chat.language, f"mute.{group}")
    await _reply(update, t(chat.language, "mute.done", what=what, until=fmt_time(until, chat.timezone, chat.language)))


async def unmute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """End a mute: /unmute move, or /unmute for all of them."""
    d = deps(context)
    lang = chat_language(d, update)
    if await refused(update, context, lang):
        return
    try:
        group = parse.unmute(words(context))
    except BadArgument as error:
        await reply_bad(update, lang, error, UNMUTE_USAGE)
        return
    chat = _remember(d, update)
    now = d.clock.now()
    running = prefs.active_mutes(d.db, chat.id, now)
    kinds = None if group == "all" else parse.MUTE_GROUPS[group]
    ended = [k for k in running if kinds is None or k in kinds]
    prefs.clear_mutes(d.db, chat.id, kinds)
    what = t(chat.language, f"mute.{group}")
    lines = [t(chat.language, "unmute.done" if ended else "unmute.not_muted", what=what)]
    still = prefs.active_mutes(d.db, chat.id, now)
    if still:
        lines.append(t(chat.language, "unmute.still", mutes=Html(render_mutes(chat.language, still, chat.timezone))))
    await _reply(update, "\n".join(lines))


def register(app: Application, chat_filter: BaseFilter) -> None:
    app.add_handler(CommandHandler("settings", show_settings, filters=chat_filter))
    app.add_handler(CommandHandler("set", set_command, filters=chat_filter))
    app.add_handler(CommandHandler("mute", mute_command, filters=chat_filter))
    app.add_handler(CommandHandler("unmute", unmute_command, filters=chat_filter))
    app.add_handler(CallbackQueryHandler(toggle, pattern=f"^{TOGGLE}"))


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
