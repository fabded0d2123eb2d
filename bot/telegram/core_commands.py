"""The foundation's commands: /start and /stop (subscription), /status and /help, unknown commands."""

from __future__ import annotations

from telegram import Update

from bot.i18n import t
from bot.store import chats, prefs
from bot.telegram.alert_commands import list_view
from bot.telegram.channels import acting_on
from bot.telegram.context import BotContext
from bot.telegram.kit import Command, admin_only, chat_id, chat_language, reply
from bot.telegram.setup_buttons import received_by, setup_keyboard, welcome
from bot.telegram.status import render_status


@admin_only
async def start(update: Update, context: BotContext) -> None:
    """Subscribe the chat and say which alerts it will receive."""
    d = context.deps
    if (target := await acting_on(update, context)) is None:
        return
    chat = target.keep(d, update)
    subscribed = chats.set_subscribed(d.db, target.id, True, now=d.clock.now())
    lang = target.language
    # In a private chat of its own, setup by tapping: language, timezone, which kinds arrive.
    private = chat.type == "private" and not target.channel
    keyboard = None
    if private:
        received = received_by(prefs.chosen_values(d.db, chat.id), d.settings)
        keyboard = setup_keyboard(lang, chat.timezone, received)
    if context.args and context.args[0] == "alerts" and private:  # the deep link under a group's alert
        text, buttons = list_view(d, target)
        await target.reply(update, t(lang, "start.own_alerts") + "\n\n" + text, reply_markup=buttons)
        return
    if not subscribed:
        already = t(lang, "start.already") + ("\n" + t(lang, "start.setup") if private else "")
        await target.reply(update, already, reply_markup=keyboard)
        return
    text = welcome(d.settings, lang) + ("\n\n" + t(lang, "start.setup") if private else "")
    await target.reply(update, text, reply_markup=keyboard)


@admin_only
async def stop(update: Update, context: BotContext) -> None:
    """Unsubscribe the chat."""
    d = context.deps
    if (target := await acting_on(update, context)) is None:
        return
    target.keep(d, update)
    changed = chats.set_subscribed(d.db, target.id, False, now=d.clock.now())
    await target.reply(update, t(target.language, "stop.done" if changed else "stop.already"))


async def help_command(update: Update, context: BotContext) -> None:
    """List every command with one line each."""
    d = context.deps
    lang = chat_language(d, update)
    lines = [t(lang, "help.header")]
    lines += [f"/{name} — {t(lang, key)}" for name, key in d.commands]
    lines += ["", t(lang, "help.footer")]
    await reply(update, "\n".join(lines))


async def status(update: Update, context: BotContext) -> None:
    """Uptime, subscribers, and the health of each data source."""
    d = context.deps
    chat = chats.get_chat(d.db, chat_id(update)) if update.effective_chat else None
    lang = chat.language if chat else chat_language(d, update)
    subscribed = bool(chat and chat.subscribed and not chat.blocked)
    text = render_status(lang, d.clock.now(), d.started_at, chats.subscriber_count(d.db), subscribed, d.health)
    await reply(update, text)


async def unknown(update: Update, context: BotContext) -> None:
    """Answer a command we don't have (but stay quiet about other bots' commands)."""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return
    entity = message.entities[0]
    command = message.text[entity.offset : entity.offset + entity.length]
    name, _, addressee = command.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    lang = chat_language(context.deps, update)
    await reply(update, t(lang, "unknown.command", command=name[:64]))


async def unknown_button(update: Update, context: BotContext) -> None:
    """Answer a button press nothing else handles (an old keyboard, forged data): Telegram
    shows a spinner until a press is answered."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(t(chat_language(context.deps, update), "button.unknown"))


SUBSCRIPTION = (Command("start", "cmd.start", start), Command("stop", "cmd.stop", stop))
INFO = (Command("status", "cmd.status", status), Command("help", "cmd.help", help_command))
