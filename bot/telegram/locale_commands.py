"""The chat's language and timezone: /lang en|zh and /tz <IANA zone>.

Both are stored on the chat (``chats.language``, ``chats.timezone``); every later
reply and alert uses them. Alone, each command shows the current value.
"""

from __future__ import annotations

from telegram import Update

from bot.formatting import fmt_time
from bot.i18n import t
from bot.store import chats
from bot.telegram import parsers as parse
from bot.telegram.context import BotContext
from bot.telegram.kit import Command, chat_id, chat_language, parsed, refuse_non_admin, remember, reply

TZ_USAGE = "/tz Europe/Berlin"
LANG_USAGE = "/lang zh"


@parsed(parse.optional(parse.timezone), TZ_USAGE)
async def tz_command(update: Update, context: BotContext, zone: str | None) -> None:
    """Show or set this chat's timezone (an IANA name such as Europe/Berlin)."""
    d = context.deps
    lang = chat_language(d, update)
    now = d.clock.now()
    if zone is None:
        chat = chats.get_chat(d.db, chat_id(update))
        current = chat.timezone if chat else "UTC"
        await reply(update, t(lang, "tz.current", zone=current, now=fmt_time(now, current, lang)))
        return
    if await refuse_non_admin(update, context):
        return
    chat = remember(d, update)
    chats.set_timezone(d.db, chat.id, zone, now)
    await reply(update, t(chat.language, "tz.done", zone=zone, now=fmt_time(now, zone, chat.language)))


@parsed(parse.optional(parse.language), LANG_USAGE)
async def lang_command(update: Update, context: BotContext, chosen: str | None) -> None:
    """Show or set the language of this chat's replies and alerts: en or zh."""
    d = context.deps
    lang = chat_language(d, update)
    if chosen is None:
        await reply(update, t(lang, "lang.current", language=t(lang, "language.name")))
        return
    if await refuse_non_admin(update, context):
        return
    chat = remember(d, update)
    chats.set_language(d.db, chat.id, chosen, d.clock.now())
    await reply(update, t(chosen, "lang.done", language=t(chosen, "language.name")))


COMMANDS = (Command("tz", "cmd.tz", tz_command), Command("lang", "cmd.lang", lang_command))
