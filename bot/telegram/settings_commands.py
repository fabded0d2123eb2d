"""Per-chat settings: /settings (with on/off buttons), /set, /mute and /unmute.

Anyone may read a chat's settings; in groups only admins change them. Every argument
is parsed by :mod:`bot.telegram.parsers`; a bad one gets one line and a usage example,
and nothing is stored. What /settings shows is drawn by :mod:`bot.telegram.settings_views`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.formatting import fmt_time
from bot.i18n import Html, t
from bot.rules.contract import Setting
from bot.rules.registry import MUTE_GROUPS, QUIET, decode_values, encode_value
from bot.store import chats, own_levels, prefs
from bot.telegram import parsers as parse
from bot.telegram.channels import acting_on
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import Command, chat_language, parsed, refuse_non_admin, reply
from bot.telegram.parsers import MuteRequest, QuietRequest, SetRequest
from bot.telegram.settings_views import (
    BUTTON_NAMES,
    TOGGLE,
    SettingsView,
    effective,
    keyboard,
    render_mutes,
    render_set_help,
    render_settings,
    toggled,
)
from bot.values import BadArgument

SET_USAGE = "/set corr 3.5"
QUIET_USAGE = "/quiet 23:00-07:00"
MUTE_USAGE = "/mute level_break|correlation|earnings|move|all 2h"
UNMUTE_USAGE = "/unmute move"


def chosen(d: Deps, chat: int) -> dict[str, Any]:
    """What the chat chose (the rest is at the bot's default)."""
    return decode_values(prefs.chosen_values(d.db, chat))


def load_view(d: Deps, chat: int) -> SettingsView:
    stored = chats.get_chat(d.db, chat)
    return SettingsView(
        chosen=chosen(d, chat),
        levels=len(own_levels.levels_of(d.db, chat)),
        timezone=stored.timezone if stored else "UTC",
        mutes=prefs.active_mutes(d.db, chat, d.clock.now()),
        subscribed=bool(stored and stored.subscribed and not stored.blocked),
    )


async def show_settings(update: Update, context: BotContext) -> None:
    """Show every setting of this chat (or the channel it manages), with buttons for the on/off ones."""
    d = context.deps
    if (target := await acting_on(update, context)) is None:
        return
    lang = target.language
    view = load_view(d, target.id)
    markup = keyboard(lang, view.chosen, d.settings)
    await target.reply(update, render_settings(lang, view, d.settings), reply_markup=markup)


async def toggle(update: Update, context: BotContext) -> None:
    """Switch an on/off setting from the /settings buttons, then redraw the message."""
    query = update.callback_query
    assert query is not None
    d = context.deps
    name = (query.data or "").removeprefix(TOGGLE)
    if name not in BUTTON_NAMES:  # a button of an older version, or forged data
        await query.answer(t(chat_language(d, update), "button.unknown"))
        return
    if await refuse_non_admin(update, context) or (target := await acting_on(update, context)) is None:
        return
    target.keep(d, update)
    try:
        switched = toggled(name, chosen(d, target.id), d.settings)
    except BadArgument as error:  # − / + past the end of the setting's range: say so, change nothing
        await query.answer(t(target.language, error.key, **error.values), show_alert=True)
        return
    assert switched is not None
    setting, value = switched
    stored = None if value is None else encode_value(setting, value)
    prefs.set_value(d.db, target.id, setting.name, stored, d.clock.now())
    lang = target.language
    shown = setting.show(setting.default(d.settings) if value is None else value, lang)
    await query.answer(t(lang, "set.done", setting=t(lang, setting.label), value=shown))
    view = load_view(d, target.id)
    await query.edit_message_text(
        target.headed(render_settings(lang, view, d.settings)), reply_markup=keyboard(lang, view.chosen, d.settings)
    )


@parsed(parse.set_request, SET_USAGE)
async def set_command(update: Update, context: BotContext, request: SetRequest | None) -> None:
    """Change one setting of this chat: /set move 3σ, /set charts off."""
    d = context.deps
    if request is None:
        await reply(update, render_set_help(chat_language(d, update)))
        return
    await store_setting(update, context, *request)


@parsed(parse.quiet_request, QUIET_USAGE)
async def quiet_command(update: Update, context: BotContext, request: QuietRequest) -> None:
    """Quiet hours: alerts in them arrive without a notification. /quiet 23:00-07:00, /quiet off."""
    if request is None:  # show them, and how they are set
        d = context.deps
        if (target := await acting_on(update, context)) is None:
            return
        value, _ = effective(chosen(d, target.id), d.settings, QUIET)
        lang = target.language
        await target.reply(update, t(lang, "quiet.now", hours=QUIET.show(value, lang), zone=target.chat.timezone))
        return
    await store_setting(update, context, QUIET, request.hours, note="quiet.note" if request.hours else None)


async def store_setting(
    update: Update, context: BotContext, setting: Setting[Any], value: Any, note: str | None = None
) -> None:
    """Store one setting of the chat the command acts on (None: back to the default) and say so,
    with the ``note`` line (which may name the chat's timezone) after."""
    d = context.deps
    if await refuse_non_admin(update, context) or (target := await acting_on(update, context)) is None:
        return
    stored = None if value is None else encode_value(setting, value)
    target.keep(d, update)
    prefs.set_value(d.db, target.id, setting.name, stored, d.clock.now())
    lang = target.language
    shown = setting.show(setting.default(d.settings) if value is None else value, lang)
    key = "set.default" if value is None else "set.done"
    said = t(lang, key, setting=t(lang, setting.label), value=shown)
    if note is not None:
        said += "\n" + t(lang, note, zone=target.chat.timezone)
    await target.reply(update, said)


@parsed(parse.mute, MUTE_USAGE)
async def mute_command(update: Update, context: BotContext, request: MuteRequest) -> None:
    """Mute one kind of alert (or all) for a while: /mute move 2h."""
    if await refuse_non_admin(update, context) or (target := await acting_on(update, context)) is None:
        return
    d = context.deps
    group, duration = request
    until = d.clock.now() + duration
    target.keep(d, update)
    for kind in MUTE_GROUPS[group]:
        prefs.set_mute(d.db, target.id, kind, until)
    lang = target.language
    what = t(lang, f"mute.{group}")
    await target.reply(update, t(lang, "mute.done", what=what, until=fmt_time(until, target.chat.timezone, lang)))


@parsed(parse.unmute, UNMUTE_USAGE)
async def unmute_command(update: Update, context: BotContext, group: str) -> None:
    """End a mute: /unmute move, or /unmute for all of them."""
    if await refuse_non_admin(update, context) or (target := await acting_on(update, context)) is None:
        return
    d = context.deps
    lang, now = target.language, d.clock.now()
    running = prefs.active_mutes(d.db, target.id, now)
    kinds = None if group == "all" else MUTE_GROUPS[group]
    ended = [k for k in running if kinds is None or k in kinds]
    target.keep(d, update)
    prefs.clear_mutes(d.db, target.id, kinds)
    what = t(lang, f"mute.{group}")
    lines = [t(lang, "unmute.done" if ended else "unmute.not_muted", what=what)]
    still = prefs.active_mutes(d.db, target.id, now)
    if still:
        lines.append(t(lang, "unmute.still", mutes=Html(render_mutes(lang, still, target.chat.timezone))))
    await target.reply(update, "\n".join(lines))


COMMANDS = (
    Command("settings", "cmd.settings", show_settings),
    Command("set", "cmd.set", set_command),
    Command("quiet", "cmd.quiet", quiet_command),
    Command("mute", "cmd.mute", mute_command),
    Command("unmute", "cmd.unmute", unmute_command),
)
BUTTONS = (CallbackQueryHandler(toggle, pattern=f"^{TOGGLE}"),)
