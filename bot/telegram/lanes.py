"""Updates of different chats are handled at once; those of one chat in the order they came.

Usage::

    Application.builder().concurrent_updates(ChatLanes())   # instead of one update at a time

PTB handles one update at a time by default, so a chat whose replies wait for a rate limit
(a group's 20 messages a minute, a ``RetryAfter``) or for slow work (a Yahoo lookup) held
up every other chat. With :class:`ChatLanes` each chat has its own lane: a handler that
waits holds only its chat, and a chat's commands still run one after the other (a
``/set`` is done before the ``/settings`` sent after it). Updates without a chat (an inline
query, a poll) share one lane of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

MAX_CONCURRENT = 512  # chats handled at once; more wait for a free place, in arrival order


class ChatLanes(BaseUpdateProcessor):
    def __init__(self, places: int = MAX_CONCURRENT) -> None:
        # PTB's own bound is taken before the chat's turn: a chat sending many updates would fill
        # it. It is left open; ours (``places``) is taken once it is the chat's turn.
        super().__init__(2**31 - 1)
        self._places = asyncio.Semaphore(places)
        self._lanes: dict[int | None, tuple[asyncio.Lock, int]] = {}
        self._handling: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_of(update)
        lock, users = self._lanes.get(key, (asyncio.Lock(), 0))
        self._lanes[key] = (lock, users + 1)
        if (task := asyncio.current_task()) is not None:
            self._handling.add(task)
        try:
            async with lock, self._places:  # FIFO: a chat's updates run in the order they arrived
                await coroutine
        except asyncio.CancelledError:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # given up before its turn: it never started
            raise
        finally:
            self._handling.discard(task)
            lock, users = self._lanes[key]
            if users == 1:
                del self._lanes[key]
            else:
                self._lanes[key] = (lock, users - 1)

    async def settle(self, grace: float) -> int:
        """Stopping: give the updates being handled ``grace`` seconds, then cancel the rest (a
        reply waiting for a rate limit, a minute for a busy group); returns how many."""
        if not self._handling:
            return 0
        _, late = await asyncio.wait(set(self._handling), timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("stopping: %d updates still waiting (for Telegram's rate limit) were given up", len(late))
        return len(late)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def lane_of(update: object) -> int | None:
    """The chat an update belongs to (its sender's private chat for a button press)."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None
