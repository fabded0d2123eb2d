"""Managing a channel from a private chat with the bot: /channel.

A channel's admins can post commands in the channel itself, but every subscriber reads them
there. From a private chat, ``/channel`` offers Telegram's chat picker (a button listing the
channels the user runs that the bot is in), or takes ``/channel @username``; once chosen, the
settings commands of that private chat (/settings, /set, /mute, /unmute, /alert, /levels,
/watch, /tz, /lang, /start, /stop) act on the channel, each reply headed by its name, until
``/channel off``. Whether the user is still one of the channel's admins is checked at every
command (Telegram asked at most once per ten minutes per channel); one who is not any more,
or a channel the bot may no longer post in, sends the commands back to the private chat.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from telegram import (
    KeyboardButton,
    KeyboardButtonRequestChat,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from bot.i18n import Html, t
from bot.store import chats
from bot.telegram.context import BotContext, Deps
from bot.telegram.kit import Command, known, message_of, parsed, remember, reply
from bot.values import BadArgument, joined

log = logging.getLogger(__name__)

USAGE = "/channel @btcdesk"
PICK = 1  # the request id of the chat picker's button
MAX_NAME = 128  # a channel's title is at most 128 characters


@dataclass(frozen=True, slots=True)
class Target:
    """The chat a settings command acts on, and how to answer about it."""

    chat: chats.Chat  # the chat itself, or the channel it manages
    language: str  # of the replies: the language of the chat the command came from
    channel: bool = False  # True: a channel managed from a private chat

    @property
    def id(self) -> int:
        return self.chat.id

    def headed(self, text: str) -> str:
        """``text``, headed by the channel's name if it is about one."""
        return f"📢 <b>{_title(self.chat)}</b>\n{text}" if self.channel else text

    def keep(self, d: Deps, update: Update) -> chats.Chat:
        """The chat, stored (a chat of its own seen for the first time) before a command changes it."""
        return self.chat if self.channel else remember(d, update)

    async def reply(self, update: Update, text: str, **kwargs: Any) -> Message:
        """Answer in the chat the command came from (headed by the channel's name)."""
        return await reply(update, self.headed(text), **kwargs)


async def acting_on(update: Update, context: BotContext) -> Target | None:
    """The chat a settings command acts on: the chat it came from, or the channel that private
    chat manages (if its user still runs it; else the user is told and None returned). Nothing
    is written: a command that changes the chat stores it first (:meth:`Target.keep`)."""
    d = context.deps
    here = known(d, update)
    managed = chats.managing(d.db, here.id) if here.type == ChatType.PRIVATE else None
    if managed is None:
        return Target(here, here.language)
    channel = chats.get_chat(d.db, managed)
    lost = await _why_not(update, context, channel)
    if lost is None and channel is not None:
        return Target(channel, here.language, channel=True)
    if lost == "channel.cannot_check":
        await reply(update, t(here.language, lost, title=_title(channel)))
        return None
    chats.set_managing(d.db, here.id, None, d.clock.now())
    why = t(here.language, "channel.no_longer_admin" if lost == "channel.not_admin" else "channel.gone")
    await reply(update, t(here.language, "channel.lost", title=_title(channel), why=why))
    return None


async def _why_not(update: Update, context: BotContext, channel: chats.Chat | None) -> str | None:
    """None if the sender may manage ``channel``; else the message key saying why not."""
    d = context.deps
    if channel is None or channel.type != ChatType.CHANNEL or channel.blocked:
        return "channel.gone"  # the bot may not post there any more
    user = update.effective_user
    try:
        admins = await d.admins.admins(context.bot, channel.id, d.clock.now())
    except TelegramError as error:
        log.info("channel %s: its admins could not be asked (%s)", channel.id, error)
        return "channel.cannot_check"
    return None if user is not None and user.id in admins else "channel.not_admin"


def _title(channel: chats.Chat | None) -> Html:
    name = (channel.title or str(channel.id)) if channel is not None else "?"
    return Html(html.escape(name))


# -- /channel -------------------------------------------------------------------------------


def parse_request(words: list[str]) -> str | None:
    """``/channel`` (None: show), ``/channel off``, or the channel's @username, id or title."""
    text = joined(words)
    if not text:
        return None
    if len(text) > MAX_NAME or "\n" in text:
        raise BadArgument("channel.unknown", {"name": text[:30]})
    return text


@parsed(parse_request, USAGE)
async def channel_command(update: Update, context: BotContext, name: str | None) -> None:
    """Choose the channel this private chat's settings commands act on, or go back to the chat."""
    d = context.deps
    here = known(d, update)
    lang = here.language
    if here.type != ChatType.PRIVATE:
        await reply(update, t(lang, "channel.private_only"))
        return
    if name is None:
        await _show(update, d, here)
    elif name.lower() in ("off", "none", "me", "关闭"):
        was = chats.managing(d.db, here.id)
        if was is not None:
            chats.set_managing(d.db, here.id, None, d.clock.now())
        await reply(
            update, t(lang, "channel.off" if was else "channel.off_already"), reply_markup=ReplyKeyboardRemove()
        )
    else:
        found = chats.find_channels(d.db, name)
        if len(found) > 1:
            raise BadArgument("channel.ambiguous", {"name": name[:30]})
        if not found:
            raise BadArgument("channel.unknown", {"name": name[:30]})
        await _choose(update, context, here, found[0])


async def channel_shared(update: Update, context: BotContext) -> None:
    """The user picked a channel with Telegram's chat picker."""
    d = context.deps
    shared = message_of(update).chat_shared
    if shared is None or shared.request_id != PICK:
        return
    here = known(d, update)
    channel = chats.get_chat(d.db, shared.chat_id)
    if channel is None or channel.type != ChatType.CHANNEL or channel.blocked:
        await reply(update, t(here.language, "channel.not_posting"), reply_markup=ReplyKeyboardRemove())
        return
    await _choose(update, context, here, channel)


async def _show(update: Update, d: Deps, here: chats.Chat) -> None:
    lang = here.language
    managed = chats.managing(d.db, here.id)
    channel = chats.get_chat(d.db, managed) if managed is not None else None
    picker = KeyboardButtonRequestChat(PICK, chat_is_channel=True, bot_is_member=True)
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton(t(lang, "channel.pick"), request_chat=picker)]], resize_keyboard=True, one_time_keyboard=True
    )
    if channel is not None:
        await reply(update, t(lang, "channel.current", title=_title(channel)), reply_markup=markup)
    else:
        await reply(update, t(lang, "channel.none"), reply_markup=markup)


async def _choose(update: Update, context: BotContext, here: chats.Chat, channel: chats.Chat) -> None:
    d = context.deps
    why = await _why_not(update, context, channel)
    if why is not None:
        await reply(update, t(here.language, why, title=_title(channel)), reply_markup=ReplyKeyboardRemove())
        return
    here = remember(d, update)
    chats.set_managing(d.db, here.id, channel.id, d.clock.now())
    log.info("chat %s manages channel %s", here.id, channel.id)
    await reply(update, t(here.language, "channel.chosen", title=_title(channel)), reply_markup=ReplyKeyboardRemove())


COMMANDS = (Command("channel", "cmd.channel", channel_command),)
HANDLERS = (MessageHandler(filters.StatusUpdate.CHAT_SHARED & filters.ChatType.PRIVATE, channel_shared),)
