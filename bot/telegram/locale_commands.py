"""The chat's language and timezone: /lang en|zh and /tz <IANA zone>.

Both are stored on the chat (``chats.language``, ``chats.timezone``); every later
reply and alert uses them. Alone, each command shows the current value.
"""

from __future__ import annotations

from telegram import Update

from bot.formatting import fmt_time
from bot.i18n import register_messages, t
from bot.store import chats
from bot.telegram import parsers as parse
from bot.telegram.context import BotContext
from bot.telegram.kit import Command, chat_language, parsed, refuse_non_admin, remember, reply

TZ_USAGE = "/tz Europe/Berlin"
LANG_USAGE = "/lang zh"


@parsed(parse.optional(parse.timezone), TZ_USAGE)
async def tz_command(update: Update, context: BotContext, zone: str | None) -> None:
    """Show or set this chat's timezone (an IANA name such as Europe/Berlin)."""
    d = context.deps
    lang = chat_language(d, update)
    now = d.clock.now()
    if zone is None:
        chat = chats.get_chat(d.db, update.effective_chat.id)
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
        await reply(update, t(lang, "lang.current", language=t(lang, f"language.{lang}")))
        return
    if await refuse_non_admin(update, context):
        return
    chat = remember(d, update)
    chats.set_language(d.db, chat.id, chosen, d.clock.now())
    await reply(update, t(chosen, "lang.done", language=t(chosen, f"language.{chosen}")))


COMMANDS = (Command("tz", "cmd.tz", tz_command), Command("lang", "cmd.lang", lang_command))


EN = {
    "cmd.tz": "Show or set this chat's timezone",
    "cmd.lang": "Language of replies and alerts: en or zh",
    "tz.current": "🕒 This chat's timezone: {zone} (now {now}). Change it: /tz Europe/Berlin",
    "tz.done": "🕒 Timezone set to {zone}. Times now read like this: {now}",
    "tz.unknown": "“{text}” is not a timezone I know: use a name like Europe/Berlin, America/New_York or Asia/Shanghai.",
    "lang.current": "Language: {language}. Change it: /lang en or /lang zh",
    "lang.done": "✅ Language: {language}. Replies and alerts in this chat now use it.",
}
ZH = {
    "cmd.tz": "查看或设置本聊天的时区",
    "cmd.lang": "回复和提醒的语言:en 或 zh",
    "tz.current": "🕒 本聊天的时区:{zone}(现在 {now})。修改:/tz Asia/Shanghai",
    "tz.done": "🕒 时区已设为 {zone}。时间将显示为:{now}",
    "tz.unknown": "“{text}”不是已知的时区:请用 Asia/Shanghai、Europe/Berlin 或 America/New_York 这样的名称。",
    "lang.current": "语言:{language}。修改:/lang en 或 /lang zh",
    "lang.done": "✅ 语言:{language}。本聊天的回复和提醒将使用该语言。",
}
register_messages(EN, ZH)
