"""Membership updates: a chat that blocks or removes the bot stops costing us work, a channel
that makes the bot an admin allowed to post is subscribed (and posted a welcome), and a change
among a group's members drops the cached list of its admins."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatType

from bot.i18n import t
from bot.store import chats
from bot.telegram.context import BotContext
from bot.telegram.kit import remember

log = logging.getLogger(__name__)

PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def _is_present(update: ChatMemberUpdated, new: bool) -> bool:
    """Whether the bot can take part: in a channel, only as an admin allowed to post."""
    member = update.new_chat_member if new else update.old_chat_member
    if update.chat.type == ChatType.CHANNEL:
        return member.status == ChatMember.OWNER or (
            member.status == ChatMember.ADMINISTRATOR and bool(getattr(member, "can_post_messages", False))
        )
    if member.status == ChatMember.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status in PRESENT


async def track_bot_membership(update: Update, context: BotContext) -> None:
    """Mark the chat blocked when the bot is blocked, kicked or leaves; unblocked when it is back."""
    d = context.deps
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    d.admins.forget(chat.id)
    was, now_present = _is_present(change, new=False), _is_present(change, new=True)
    stored = remember(d, update)  # the chat, in the language of whoever added or removed the bot
    if chats.set_blocked(d.db, chat.id, not now_present, now=d.clock.now()):
        log.info("chat %s %s the bot", chat.id, "re-added" if now_present else "blocked or removed")
    if now_present and not was and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await context.bot.send_message(chat.id, t(stored.language, "group.added"))
    if chat.type == ChatType.CHANNEL and now_present != was:
        # A channel's admins made the bot an admin that may post: that is the subscription.
        chats.set_subscribed(d.db, chat.id, now_present, now=d.clock.now())
        log.info("channel %s %s", chat.id, "subscribed" if now_present else "left: the bot may not post there")
        if now_present:
            await context.bot.send_message(chat.id, t(stored.language, "channel.added"))


async def track_members(update: Update, context: BotContext) -> None:
    """Someone's status changed in a group where the bot is an admin: ask for the admins again."""
    if update.chat_member is not None:
        context.deps.admins.forget(update.chat_member.chat.id)
