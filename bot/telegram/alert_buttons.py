"""What the buttons under an alert and under ``/alert list`` do when pressed.

A press is checked as a command is: only what :func:`bot.delivery.keyboards.read` accepts, in a
group only by the chat's admins, and only on what the chat owns (its own level, an alert it was
sent); anything else (an old keyboard, forged data) is answered and not acted on. Every press is
answered, so Telegram's spinner stops:

* 🔕 1 h / 1 day: mute the alert's kind in this chat, as ``/mute`` does;
* 📈: the chart of the recent price with the level drawn, sent as a reply to the alert;
* 🔁 / 🗑 under an alert: re-arm or delete the chat's own level it was about;
* 🔁 / 🗑 under ``/alert list``: the same, then the list is redrawn in place.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import CallbackQuery, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler

from bot.delivery.keyboards import PREFIX, read
from bot.formatting import fmt_time
from bot.i18n import t
from bot.price_chart import chart_on_request
from bot.rules.registry import MUTE_GROUPS, decode_alert
from bot.store import chats, market, outbox, own_levels, prefs
from bot.store.db import connect
from bot.telegram.alert_commands import level_details, level_line, list_view
from bot.telegram.channels import acting_on
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import chat_language, refuse_non_admin


async def pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    d = context.deps
    lang = chat_language(d, update)
    chosen = read(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if chosen is None or message is None:
        await query.answer(t(lang, "button.stale"))
        return
    if await refuse_non_admin(update, context):
        return
    action, args = chosen
    if action in ("R", "D"):
        await _from_list(update, context, action, int(args[0]), int(args[1]))
        return
    chat = chats.get_chat(d.db, message.chat.id)
    if chat is None:
        await query.answer(t(lang, "button.stale"))
        return
    if action == "m":
        group, hours = args[0], int(args[1])
        until = d.clock.now() + timedelta(hours=hours)
        for kind in MUTE_GROUPS[group]:
            prefs.set_mute(d.db, chat.id, kind, until)
        what = t(lang, f"mute.{group}")
        await query.answer(t(lang, "mute.done", what=what, until=fmt_time(until, chat.timezone, lang)), show_alert=True)
    elif action == "c":
        await _chart(d, query, message, int(args[0]), lang)
    else:
        await query.answer(_own_level(d, chat.id, action, int(args[0]), lang, chat.timezone), show_alert=True)


async def _chart(d: Deps, query: CallbackQuery, message: Message, alert_id: int, lang: str) -> None:
    """The 📈 chart, as a reply to the alert; only of an alert this chat was sent."""
    stored = outbox.alert_for_chat(d.db, alert_id, message.chat.id)
    if stored is None:
        await query.answer(t(lang, "button.stale"))
        return
    alert = decode_alert(*stored)
    path = d.settings.database_path

    def draw() -> bytes | None:
        db = connect(path)  # a worker thread: its own connection (WAL lets it read while the bot writes)
        try:
            return chart_on_request(db, alert, lang)
        finally:
            db.close()

    png = await asyncio.to_thread(draw)
    if png is None:
        await query.answer(t(lang, "button.no_chart"))
        return
    await query.answer()
    where = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    await message.reply_photo(png, reply_parameters=where)


def _own_level(d: Deps, chat_id: int, action: str, level_id: int, lang: str, tz: str) -> str:
    """Re-arm (``r``) or delete (``d``) one of the chat's own levels; what to answer."""
    if action == "d":
        deleted = own_levels.delete_level(d.db, chat_id, level_id)
        if deleted is None:
            return t(lang, "alert.no_such", id=level_id)
        if d.engine is not None:
            d.engine.levels.remove(chat_id, deleted.symbol, deleted.price, deleted.direction)
        return t(lang, "alert.deleted", line=level_line(lang, deleted))
    level = own_levels.rearm(d.db, chat_id, level_id, d.clock.now())
    if level is None:
        return t(lang, "alert.no_such", id=level_id)
    if d.engine is not None:
        d.engine.levels.add(chat_id, level.symbol, level.price, level.direction, once=level.mode == "once")
    quote = market.latest_quotes(d.db, [level.symbol]).get(level.symbol)
    return t(lang, "alert.rearmed", line=level_details(lang, level, quote, d.clock.now(), tz))


async def _from_list(update: Update, context: BotContext, action: str, chat_id: int, level_id: int) -> None:
    """A button of ``/alert list``: act on the chat the list was of (the one this chat acts on), then
    redraw the list in place."""
    query = update.callback_query
    assert query is not None
    d = context.deps
    target = await acting_on(update, context)
    if target is None:
        await query.answer()
        return
    lang = target.language
    if target.id != chat_id:  # the list of another chat (a channel no longer managed from here)
        await query.answer(t(lang, "button.stale"))
        return
    answer = _own_level(d, chat_id, action.lower(), level_id, lang, target.chat.timezone)
    text, keyboard = list_view(d, target)
    await query.answer(answer)
    await query.edit_message_text(target.headed(text), parse_mode=ParseMode.HTML, reply_markup=keyboard)


BUTTONS = (CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"),)
