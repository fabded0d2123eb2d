"""A fake Telegram Bot API server on 127.0.0.1 for tests that run PTB's real HTTP stack.

It implements what the bot uses (getMe, deleteWebhook, getUpdates with offset/timeout,
sendMessage, sendPhoto, setMyCommands, editMessageText, answerCallbackQuery,
getChatMember), lets a test act as users (``user_sends``, ``press_button``,
``member_status_change``), records everything the bot sent with a monotonic
timestamp, and injects failures (429 with ``retry_after``, 403, 400, 5xx).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-secret-token-abcdef"
BOT_ID = 123456
BOT_USERNAME = "AlertTestBot"


@dataclass
class Sent:
    """One message the bot sent and the fake accepted."""

    method: str
    chat_id: int
    text: str | None
    params: dict[str, Any]
    at: float
    message_id: int
    photo: bytes | None = None


@dataclass
class Injection:
    method: str
    status: int
    description: str
    chat_id: int | None = None
    times: int = 1
    retry_after: int | None = None


@dataclass
class FakeChat:
    id: int
    type: str = "private"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


@dataclass
class FakeUser:
    id: int
    first_name: str = "Ada"
    username: str | None = "ada"
    language_code: str | None = "en"

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def private_chat(self) -> FakeChat:
        return FakeChat(self.id, "private", username=self.username, first_name=self.first_name)


@dataclass
class FakeTelegram:
    token: str = TOKEN
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    attempts: list[tuple[str, int | None, float]] = field(default_factory=list)
    commands: dict[str | None, list[dict[str, str]]] = field(default_factory=dict)
    members: dict[tuple[int, int], str] = field(default_factory=dict)
    injections: list[Injection] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    chat_actions: list[tuple[int, str, int]] = field(default_factory=list)
    files: dict[str, bytes] = field(
        default_factory=dict
    )  # file id → the photo uploaded  # chat, action, messages sent before
    admin_lookups: list[int] = field(default_factory=list)  # getChatAdministrators asked, by chat
    long_polls: bool = True  # False: getUpdates answers at once (a bot being stopped need not wait)
    slow_answers: dict[str, float] = field(default_factory=dict)  # method → seconds it takes to answer, once done
    url: str = ""

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._confirmed = 0

    # ---- server lifecycle -------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- acting as users --------------------------------------------------------
    def user_sends(self, text: str, user: FakeUser, chat: FakeChat | None = None, **extra: Any) -> int:
        """Queue a message from ``user`` in ``chat`` (default: their private chat)."""
        chat = chat or user.private_chat
        return self._push({"message": self._new_message(chat, text, **{"from": user.to_api()}, **extra)})

    def user_shares_chat(self, user: FakeUser, chat: FakeChat, request_id: int = 1) -> int:
        """``user`` picked ``chat`` with a chat-picker button (``request_chat``) in their private chat."""
        shared = {"request_id": request_id, "chat_id": chat.id, "title": chat.title}
        return self._push(
            {"message": self._new_message(user.private_chat, None, chat_shared=shared, **{"from": user.to_api()})}
        )

    def channel_post(self, text: str, chat: FakeChat) -> int:
        """A post in channel ``chat`` (only its admins can post; Telegram names no user)."""
        return self._push({"channel_post": self._new_message(chat, text, sender_chat=chat.to_api())})

    def _new_message(self, chat: FakeChat, text: str | None, **fields: Any) -> dict[str, Any]:
        """A Bot API Message in ``chat``: ``text`` (a command marked as one) and the other ``fields``."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat.to_api(),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0]) if text.split() else 1
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message | fields

    def press_button(self, data: str, user: FakeUser, message: Sent) -> int:
        chat = {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "supergroup"}
        return self._push(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": user.to_api(),
                    "chat_instance": f"ci{message.chat_id}",
                    "data": data,
                    "message": {
                        "message_id": message.message_id,
                        "date": int(time.time()),
                        "chat": chat,
                        "text": message.text or "",
                    },
                }
            }
        )

    def member_status_change(
        self, chat: FakeChat, user: FakeUser, old: str, new: str, *, can_post: bool = True, could_post: bool = True
    ) -> int:
        """The bot's own membership changed (``my_chat_member``): e.g. member → kicked, or (in a
        channel) left → administrator, allowed to post or not."""
        bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Alert", "username": BOT_USERNAME}
        now = int(time.time())

        def member(status: str, post: bool) -> dict[str, Any]:
            if status == "administrator":
                return {**_member(status, bot_user), "can_post_messages": post, "can_edit_messages": post}
            return {"status": status, "user": bot_user, **({"until_date": 0} if status == "kicked" else {})}

        return self._push(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": user.to_api(),
                    "date": now,
                    "old_chat_member": member(old, could_post),
                    "new_chat_member": member(new, can_post),
                }
            }
        )

    def end_long_polls(self) -> None:
        """Answer the pending getUpdates now, and the next ones at once (a bot is being stopped)."""
        self.long_polls = False
        self._new_update.set()

    def set_member(self, chat: FakeChat, user: FakeUser, status: str) -> None:
        """``user`` becomes ``status`` in ``chat``; Telegram tells the bot (``chat_member``)."""
        old = self.members.get((chat.id, user.id), "member")
        self.members[(chat.id, user.id)] = status
        if old != status:
            self._push(
                {
                    "chat_member": {
                        "chat": chat.to_api(),
                        "from": user.to_api(),
                        "date": int(time.time()),
                        "old_chat_member": _member(old, user.to_api()),
                        "new_chat_member": _member(status, user.to_api()),
                    }
                }
            )

    def inject(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail."""
        defaults = {
            429: f"Too Many Requests: retry after {retry_after or 1}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        if status == 429 and retry_after is None:
            retry_after = 1
        self.injections.append(
            Injection(method, status, description or defaults.get(status, "Error"), chat_id, times, retry_after)
        )

    # ---- reading what the bot did -----------------------------------------------
    def messages_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait_for(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[Sent]:
        """Wait until ``chat_id`` has received at least ``count`` messages; return them all."""

        async def reached() -> list[Sent]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages_to(chat_id)) >= count)
            return self.messages_to(chat_id)

        try:
            return await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            got = [s.text for s in self.messages_to(chat_id)]
            raise AssertionError(f"chat {chat_id} got {len(got)} message(s), wanted {count}: {got}") from None

    async def wait_until_consumed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot confirmed ``update_id`` (asked getUpdates for a later offset)."""

        async def consumed() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self._confirmed > update_id)

        await asyncio.wait_for(consumed(), timeout)

    # ---- HTTP -------------------------------------------------------------------
    def _push(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **payload})
        self._new_update.set()
        return update_id

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], bytes | None]:
        params: dict[str, Any] = dict(request.query)
        photo = None
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                body = await part.read()
                if part.filename:
                    photo = body
                else:
                    params[part.name] = body.decode()
        elif request.can_read_body:
            params.update(dict(await request.post()))
        return params, photo

    def _injected(self, method: str, chat_id: int | None) -> web.Response | None:
        for rule in self.injections:
            if rule.method == method and rule.times > 0 and (rule.chat_id is None or rule.chat_id == chat_id):
                rule.times -= 1
                body: dict[str, Any] = {"ok": False, "error_code": rule.status, "description": rule.description}
                if rule.retry_after is not None:
                    body["parameters"] = {"retry_after": rule.retry_after}
                return web.json_response(body, status=rule.status)
        return None

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, photo = await self._params(request)
        if any(secret in str(value) for value in params.values() for secret in (TOKEN, TOKEN.partition(":")[2])):
            from tests.secretguard import LEAKS

            LEAKS.append(f"{method} carried the token: {str(params)[:200]}")
        chat_id = int(params["chat_id"]) if "chat_id" in params else None
        self.calls[method] += 1
        self.attempts.append((method, chat_id, time.monotonic()))
        if (failure := self._injected(method, chat_id)) is not None:
            return failure
        if method == "sendPhoto" and photo is None and str(params.get("photo")) not in self.files:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: wrong file identifier/HTTP URL specified",
                },
                status=400,
            )
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        result = await handler(params, photo)
        async with self._changed:
            self._changed.notify_all()
        if method in self.slow_answers:  # accepted already: only the answer is late
            await asyncio.sleep(self.slow_answers[method])
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params, photo) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Alert",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_setWebhook(self, params, photo) -> bool:
        self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params, photo) -> bool:
        return True

    async def _api_getUpdates(self, params, photo) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if offset:
            # Telegram forgets every update below the offset: they are confirmed.
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self._confirmed = max(self._confirmed, offset)
        if not self.updates and timeout > 0 and self.long_polls:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                pass
        return self.updates[:limit]

    def _message(self, method: str, params: dict[str, Any], photo: bytes | None) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        text = params.get("text") if method != "sendPhoto" else params.get("caption")
        self.sent.append(Sent(method, chat_id, text, params, time.monotonic(), message_id, photo))
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Group"
        else:
            chat["first_name"] = "Ada"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Alert", "username": BOT_USERNAME},
        }
        if method == "sendPhoto":
            message["photo"] = [
                {"file_id": f"p{message_id}", "file_unique_id": f"u{message_id}", "width": 800, "height": 500}
            ]
            if text:
                message["caption"] = text
        else:
            message["text"] = text or ""
        if "reply_markup" in params:  # Telegram returns inline keyboards only, not reply keyboards
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
        return message

    async def _api_sendMessage(self, params, photo) -> dict[str, Any]:
        return self._message("sendMessage", params, photo)

    async def _api_sendPhoto(self, params, photo) -> dict[str, Any]:
        if photo is None:  # sent again by the file id an earlier upload got (checked in _dispatch)
            photo = self.files[str(params["photo"])]
        message = self._message("sendPhoto", params, photo)
        self.files[message["photo"][-1]["file_id"]] = photo
        return message

    async def _api_editMessageText(self, params, photo) -> dict[str, Any]:
        return self._message("editMessageText", params, photo)

    async def _api_sendChatAction(self, params, photo) -> bool:
        self.chat_actions.append((int(params["chat_id"]), str(params["action"]), len(self.sent)))
        return True

    async def _api_answerCallbackQuery(self, params, photo) -> bool:
        self.callback_answers.append(params)
        return True

    async def _api_setMyCommands(self, params, photo) -> bool:
        commands = params["commands"]
        self.commands[params.get("language_code")] = json.loads(commands) if isinstance(commands, str) else commands
        return True

    async def _api_getChatMember(self, params, photo) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get((chat_id, user_id), "member")
        return _member(status, {"id": user_id, "is_bot": False, "first_name": "U"})

    async def _api_getChatAdministrators(self, params, photo) -> list[dict[str, Any]]:
        chat_id = int(params["chat_id"])
        self.admin_lookups.append(chat_id)
        return [
            _member(status, {"id": user_id, "is_bot": False, "first_name": "U"})
            for (chat, user_id), status in self.members.items()
            if chat == chat_id and status in ("administrator", "creator")
        ]


ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ChatMember of the Bot API with ``status``."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update(dict.fromkeys(ADMIN_RIGHTS, True))
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0})
    return member
