"""Command handlers of the foundation: /start, /stop, /help, /status and unknown commands."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import ContextTypes

from bot.i18n import language_for, t
from bot.store import chats
from bot.telegram.access import is_chat_admin
from bot.telegram.deps import Deps, deps
from bot.telegram.status import render_status

# (command, help key) in the order /help and the command menu show them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "cmd.start"),
    ("stop", "cmd.stop"),
    ("status", "cmd.status"),
    ("help", "cmd.help"),
)


def all_commands() -> tuple[tuple[str, str], ...]:
    """Every command in /help order: /start and /stop, the features' commands, /status and /help."""
    from bot.telegram.features import FEATURES

    extra = tuple(c for feature in FEATURES for c in feature.COMMANDS)
    return COMMANDS[:2] + extra + COMMANDS[2:]


def menu(lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(lang, key)) for name, key in all_commands()]


def chat_language(d: Deps, update: Update) -> str:
    chat = update.effective_chat
    stored = chats.get_chat(d.db, chat.id) if chat else None
    if stored is not None:
        return stored.language
    user = update.effective_user
    return language_for(user.language_code if user else None)


def _remember(d: Deps, update: Update) -> chats.Chat:
    chat = update.effective_chat
    user = update.effective_user
    return chats.remember_chat(
        d.db,
        chat.id,
        chat.type,
        title=chat.title,
        username=chat.username,
        language=language_for(user.language_code if user else None),
        now=d.clock.now(),
    )


async def _reply(update: Update, text: str) -> None:
    await update.effective_message.reply_html(text)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribe the chat and say which alerts it will receive."""
    d = deps(context)
    lang = chat_language(d, update)
    if not await is_chat_admin(update, context):
        await _reply(update, t(lang, "admin.only"))
        return
    chat = _remember(d, update)
    if not chats.set_subscribed(d.db, chat.id, True, now=d.clock.now()):
        await _reply(update, t(chat.language, "start.already"))
        return
    s = d.settings
    levels = "; ".join(
        f"{sym} {', '.join(f'{p:,.0f}' for p in prices)}" for sym, prices in s.levels.items()
    )
    await _reply(
        update,
        t(
            chat.language,
            "start.welcome",
            symbols=", ".join(s.crypto_symbols),
            levels=levels,
            watchlist=", ".join(s.equity_watchlist),
        ),
    )


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unsubscribe the chat."""
    d = deps(context)
    lang = chat_language(d, update)
    if not await is_chat_admin(update, context):
        await _reply(update, t(lang, "admin.only"))
        return
    chat = _remember(d, update)
    changed = chats.set_subscribed(d.db, chat.id, False, now=d.clock.now())
    await _reply(update, t(chat.language, "stop.done" if changed else "stop.already"))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List every command with one line each."""
    lang = chat_language(deps(context), update)
    lines = [t(lang, "help.header")]
    lines += [f"/{name} — {t(lang, key)}" for name, key in all_commands()]
    lines += ["", t(lang, "help.footer")]
    await _reply(update, "\n".join(lines))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Uptime, subscribers, and the health of each data source."""
    d = deps(context)
    chat = chats.get_chat(d.db, update.effective_chat.id)
    lang = chat.language if chat else chat_language(d, update)
    subscribed = bool(chat and chat.subscribed and not chat.blocked)
    text = render_status(
        lang, d.clock.now(), d.started_at, chats.subscriber_count(d.db), subscribed, d.health
    )
    await _reply(update, text)


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command we don't have (but stay quiet about other bots' commands)."""
    message = update.effective_message
    entity = message.entities[0]
    command = message.text[entity.offset : entity.offset + entity.length]
    name, _, addressee = command.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    lang = chat_language(deps(context), update)
    await _reply(update, t(lang, "unknown.command", command=name[:64]))

