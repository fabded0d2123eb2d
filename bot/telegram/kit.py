"""The command kit: what every handler uses, in one place.

    COMMANDS = (Command("mute", "cmd.mute", mute),)     # a module's commands, for the registry

    @admin_only                                          # in groups, only the chat's admins
    @parsed(parse.mute, "/mute move 2h")                 # a bad argument: one line and the usage
    async def mute(update: Update, context: BotContext, request: MuteRequest) -> None:
        chat = remember(context.deps, update)
        ...
        await reply(update, t(chat.language, "mute.done", ...))

A handler raising :class:`~bot.values.BadArgument` (after it looked something up)
gets the same one-line answer as a parser's refusal. Nothing is stored before the
arguments are good, so a refused command changes nothing.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.i18n import language_for, t
from bot.store import chats
from bot.store.db import utcnow_iso
from bot.telegram.context import BotContext, Deps
from bot.values import BadArgument, explain

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
ParsedHandler = Callable[[Update, BotContext, T], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, its line in /help and the menu (a message key), its handler."""

    name: str
    help_key: str
    callback: Handler


Buttons = tuple[CallbackQueryHandler[BotContext, Any], ...]
"""A module's inline-button handlers (``CallbackQueryHandler`` s), for the registry."""


def message_of(update: Update) -> Message:
    """The message of a command update (every command has one)."""
    message = update.effective_message
    if message is None:
        raise ValueError("this update has no message")
    return message


def chat_id(update: Update) -> int:
    """The id of the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("this update has no chat")
    return chat.id


async def reply(update: Update, text: str, **kwargs: Any) -> Message:
    """Answer in the chat the update came from (HTML)."""
    return await message_of(update).reply_html(text, **kwargs)


def chat_language(d: Deps, update: Update) -> str:
    """The chat's language, or (a chat not seen before) the language of whoever wrote."""
    chat = update.effective_chat
    stored = chats.get_chat(d.db, chat.id) if chat else None
    if stored is not None:
        return stored.language
    user = update.effective_user
    return language_for(user.language_code if user else None)


def remember(d: Deps, update: Update) -> chats.Chat:
    """Store the chat (its language from whoever wrote first) or refresh its names. A database
    that refuses writes does not stop a command that only reads: the chat as stored (or as
    Telegram describes it) is used, and a command that changes something fails on its own write."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        raise ValueError("this update has no chat")
    language = language_for(user.language_code if user else None)
    try:
        return chats.remember_chat(
            d.db, chat.id, chat.type, title=chat.title, username=chat.username, language=language, now=d.clock.now()
        )
    except sqlite3.OperationalError as error:
        log.warning("chat %s not remembered: the database cannot be written (%s)", chat.id, error)
        return known(d, update)


def known(d: Deps, update: Update) -> chats.Chat:
    """The chat as stored, or (a chat not seen before) as Telegram describes it; nothing is written."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        raise ValueError("this update has no chat")
    stored = chats.get_chat(d.db, chat.id)
    if stored is not None:
        return stored
    stamp = utcnow_iso(d.clock.now())
    language = language_for(user.language_code if user else None)
    return chats.Chat(chat.id, chat.type, chat.title, chat.username, language, "UTC", False, False, stamp, stamp)


def words(context: BotContext) -> list[str]:
    """The words after the command."""
    return list(context.args or [])


async def show_working(update: Update, context: BotContext, action: str) -> None:
    """Telegram's "typing…" / "sending a photo…" above the chat while slow work runs for it
    (best effort: the work goes on whatever Telegram answers)."""
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await context.bot.send_chat_action(chat.id, action)
    except TelegramError as error:
        log.debug("chat %s: no chat action (%s)", chat.id, error)


async def may_change(update: Update, context: BotContext) -> bool:
    """Whether the sender may change this chat's settings (an admin, in a group)."""
    d = context.deps
    return await d.admins.may_change(context.bot, update, d.clock.now())


async def refuse_non_admin(update: Update, context: BotContext) -> bool:
    """True (and the sender told, in the chat or on the button) if they may not change this chat."""
    if await may_change(update, context):
        return False
    text = t(chat_language(context.deps, update), "admin.only")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
    return True


def admin_only(handler: Handler) -> Handler:
    """Run ``handler`` only for whoever may change the chat; tell anyone else why not."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if not await refuse_non_admin(update, context):
            await handler(update, context)

    return guarded


def parsed(parse: Callable[[list[str]], T], usage: str) -> Callable[[ParsedHandler[T]], Handler]:
    """Give the handler ``parse(words)``; a :class:`BadArgument` (from the parser or the handler)
    is answered with one line saying what is wrong and ``usage``."""

    def decorate(handler: ParsedHandler[T]) -> Handler:
        @functools.wraps(handler)
        async def run(update: Update, context: BotContext) -> None:
            try:
                await handler(update, context, parse(words(context)))
            except BadArgument as error:
                await reply(update, explain(chat_language(context.deps, update), error, usage))

        return run

    return decorate
