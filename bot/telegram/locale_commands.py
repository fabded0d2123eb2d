"""The chat's language and timezone: /lang en|zh and /tz <IANA zone>.

Both are stored on the chat (``chats.language``, ``chats.timezone``); every later
reply and alert uses them. Alone, each command shows the current value.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.ext.filters import BaseFilter

from bot.formatting import fmt_time
from bot.i18n import register_messages, t
from bot.store import chats
from bot.telegram import settings_args as parse
from bot.telegram.args import BadArgument
from bot.telegram.commands import _remember, _reply, chat_language
from bot.telegram.deps import deps
from bot.telegram.settings_commands import refused, reply_bad, words

COMMANDS: tuple[tuple[str, str], ...] = (
    ("tz", "cmd.tz"),
    ("lang", "cmd.lang"),
)
TZ_USAGE = "/tz Europe/Berlin"
LANG_USAGE = "/lang zh"


async def tz_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show or set this chat's timezone (an IANA name such as Europe/Berlin)."""
    d = deps(context)
    lang = chat_language(d, update)
    now = d.clock.now()
    if not context.args:
        chat = chats.get_chat(d.db, update.effective_chat.id)
        zone = chat.timezone if chat else "UTC"
        await _reply(update, t(lang, "tz.current", zone=zone, now=fmt_time(now, zone, lang)))
        return
    if await refused(update, context, lang):
        return
    try:
        zone = parse.timezone(words(context))
    except BadArgument as error:
        await reply_bad(update, lang, error, TZ_USAGE)
        return
    chat = _remember(d, update)
    chats.set_timezone(d.db, chat.id, zone, now)
    await _reply(update, t(chat.language, "tz.done", zone=zone, now=fmt_time(now, zone, chat.language)))


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show or set the language of this chat's replies and alerts: en or zh."""
    d = deps(context)
    lang = chat_language(d, update)
    if not context.args:
        await _reply(update, t(lang, "lang.current", language=t(lang, f"language.{lang}")))
        return
    if await refused(update, context, lang):
        return
    try:
        chosen = parse.language(words(context))
    except BadArgument as error:
        await reply_bad(update, lang, error, LANG_USAGE)
        return
    chat = _remember(d, update)
    chats.set_language(d.db, chat.id, chosen, d.clock.now())
    await _reply(update, t(chosen, "lang.done", language=t(chosen, f"language.{chosen}")))


def register(app: Application, chat_filter: BaseFilter) -> None:
    app.add_handler(CommandHandler("tz", tz_command, filters=chat_filter))
    app.add_handler(CommandHandler("lang", lang_command, filters=chat_filter))


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
