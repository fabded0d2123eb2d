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
from bot.telegram.channels import acting_on
from bot.telegram.context import BotContext
from bot.telegram.kit import Command, parsed, refuse_non_admin

TZ_USAGE = "/tz Europe/Berlin"
LANG_USAGE = "/lang zh"


@parsed(parse.optional(parse.timezone), TZ_USAGE)
async def tz_command(update: Update, context: BotContext, zone: str | None) -> None:
    """Show or set this chat's timezone (an IANA name such as Europe/Berlin)."""
    d = context.deps
    now = d.clock.now()
    if zone is not None and await refuse_non_admin(update, context):
        return
    if (target := await acting_on(update, context)) is None:
        return
    lang = target.language
    if zone is None:
        current = target.chat.timezone
        await target.reply(update, t(lang, "tz.current", zone=current, now=fmt_time(now, current, lang)))
        return
    target.keep(d, update)
    chats.set_timezone(d.db, target.id, zone, now)
    await target.reply(update, t(lang, "tz.done", zone=zone, now=fmt_time(now, zone, lang)))


@parsed(parse.optional(parse.language), LANG_USAGE)
async def lang_command(update: Update, context: BotContext, chosen: str | None) -> None:
    """Show or set the language of this chat's replies and alerts: en or zh."""
    d = context.deps
    if chosen is not None and await refuse_non_admin(update, context):
        return
    if (target := await acting_on(update, context)) is None:
        return
    if chosen is None:
        current = target.chat.language
        await target.reply(update, t(target.language, "lang.current", language=t(current, "language.name")))
        return
    target.keep(d, update)
    chats.set_language(d.db, target.id, chosen, d.clock.now())
    answer_in = target.language if target.channel else chosen  # a chat's own replies switch at once
    await target.reply(update, t(answer_in, "lang.done", language=t(chosen, "language.name")))


COMMANDS = (Command("tz", "cmd.tz", tz_command), Command("lang", "cmd.lang", lang_command))
