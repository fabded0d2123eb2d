"""Who may change a chat's settings: anyone in a private chat, the chat's admins in groups.

Each group's admins are asked once (``getChatAdministrators``) and cached; the cache of
a chat is dropped when Telegram tells of a member change there (``chat_member``, sent
while the bot is an admin, and ``my_chat_member``), and refreshed after ``ttl`` in any
case, for groups where the bot is not an admin and hears of no change. An anonymous
admin posts as the group itself (``sender_chat``), and counts as an admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType

ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
DEFAULT_TTL = timedelta(minutes=10)


@dataclass
class AdminCache:
    ttl: timedelta = DEFAULT_TTL
    _admins: dict[int, tuple[frozenset[int], datetime]] = field(default_factory=dict)

    async def admins(self, bot: Bot, chat_id: int, now: datetime) -> frozenset[int]:
        """The user ids of ``chat_id``'s admins (asked of Telegram at most once per ``ttl``)."""
        cached = self._admins.get(chat_id)
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        members = await bot.get_chat_administrators(chat_id)
        ids = frozenset(m.user.id for m in members if m.status in ADMIN_STATUSES)
        self._admins[chat_id] = (ids, now)
        return ids

    def forget(self, chat_id: int) -> None:
        """Ask Telegram again next time (the chat's members changed)."""
        self._admins.pop(chat_id, None)

    async def may_change(self, bot: Bot, update: Update, now: datetime) -> bool:
        """Whether the sender of ``update`` may change its chat's settings."""
        chat = update.effective_chat
        if chat is None:
            return False
        if chat.type == ChatType.PRIVATE:
            return True
        message = update.effective_message
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous admin, posting as the group
        user = update.effective_user
        return user is not None and user.id in await self.admins(bot, chat.id, now)
