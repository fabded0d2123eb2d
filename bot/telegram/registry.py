"""The command registry, built in one place: every command, button and update handler, the
command menu, and the /help list come from here.

A command module declares ``COMMANDS`` (:class:`~bot.telegram.kit.Command` s) and, if
it has inline buttons, ``BUTTONS``; adding a command to a module needs nothing here.
"""

from __future__ import annotations

import time
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.i18n import t
from bot.telegram import (
    alert_buttons,
    alert_commands,
    channels,
    core_commands,
    locale_commands,
    market_commands,
    settings_commands,
    setup_buttons,
)
from bot.telegram.context import BotContext
from bot.telegram.kit import Buttons, Command, Handler
from bot.telegram.membership import track_bot_membership, track_members

COMMANDS: tuple[Command, ...] = (
    *core_commands.SUBSCRIPTION,
    *market_commands.COMMANDS,
    *alert_commands.COMMANDS,
    *settings_commands.COMMANDS,
    *locale_commands.COMMANDS,
    *channels.COMMANDS,
    *core_commands.INFO,
)
BUTTONS: Buttons = (*settings_commands.BUTTONS, *alert_buttons.BUTTONS, *setup_buttons.BUTTONS)
COMMAND_CHATS = ~filters.UpdateType.EDITED & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST)
"""Commands are read in private chats, groups and channels (posted by the channel's admins, the only
ones who can post there), never when edited."""


def help_lines() -> tuple[tuple[str, str], ...]:
    """(command, help key) in the order /help and the menu show them."""
    return tuple((c.name, c.help_key) for c in COMMANDS)


def menu(lang: str) -> list[BotCommand]:
    """The command menu users see next to the text box, in ``lang``."""
    return [BotCommand(c.name, t(lang, c.help_key)) for c in COMMANDS]


def timed(command: Command) -> Handler:
    """The command's handler, its time (reply included) recorded for the operator's metrics."""

    async def handle(update: Update, context: BotContext) -> None:
        started = time.monotonic()
        try:
            await command.callback(update, context)
        finally:
            context.deps.metrics.command_latency.labels(command.name).observe(time.monotonic() - started)

    return handle


def register(app: Application[Any, BotContext, Any, Any, Any, Any]) -> None:
    """Every handler, in the order PTB tries them."""
    for command in COMMANDS:
        app.add_handler(CommandHandler(command.name, timed(command), filters=COMMAND_CHATS))
    app.add_handlers(BUTTONS)
    app.add_handlers(channels.HANDLERS)
    app.add_handler(CallbackQueryHandler(core_commands.unknown_button))  # after every known button
    app.add_handler(MessageHandler(filters.COMMAND & COMMAND_CHATS, core_commands.unknown))
    app.add_handler(ChatMemberHandler(track_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(ChatMemberHandler(track_members, ChatMemberHandler.CHAT_MEMBER))
