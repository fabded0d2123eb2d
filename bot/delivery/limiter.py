"""A smooth rate limiter for every request the bot makes, within Telegram's flood limits.

Usage::

    app = Application.builder().token(T).rate_limiter(SmoothRateLimiter()).build()
    await app.bot.send_message(chat_id, text)                                   # a reply: first in line
    await app.bot.send_message(chat_id, text, rate_limit_args=Broadcast())      # an outbox send: yields

Limits (Telegram Bots FAQ), each period stretched by ``Limits.margin`` (2 %) and counted
from the latest moment an earlier message can have reached Telegram, so a request held
up on its way never crowds later ones into one of Telegram's windows:

* at most 30 messages in any one-second window, bot-wide, in evenly spaced slots (no
  burst in the first second, unlike PTB's ``AIORateLimiter``);
* at most 1 message a second to one chat, and 20 a minute to one group (``chat_id < 0``);
* requests without a ``chat_id`` (getMe, setMyCommands, answerCallbackQuery ...) and
  reads (``get*``) are not delayed.

Requests wait in one FIFO queue per chat; the next free slot goes to the oldest ready
request of the highest priority, so replies made while handling an update overtake
broadcast sends, and a chat waiting for its own one-second gap never holds up others.
A ``RetryAfter`` from Telegram pauses everything queued for the time it asks, then the
request is retried at the head of its chat's queue (at most ``max_retries`` times).

:class:`~bot.delivery.schedule.Schedule` holds the decisions and is pure;
:class:`SmoothRateLimiter` runs it on the event loop with an injectable clock and sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.schedule import Broadcast, ChatKey, Limits, Priority, Schedule, Ticket
from bot.delivery.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]

__all__ = ["Broadcast", "Limits", "Priority", "Schedule", "SmoothRateLimiter", "Ticket", "retry_after_seconds"]


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (PTB keeps it as a timedelta internally)."""
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


UNLIMITED_PREFIXES = ("get", "answer", "sendChatAction")
"""Endpoints that are not messages: never delayed, even with a ``chat_id``."""


class SmoothRateLimiter(BaseRateLimiter["Broadcast | Priority"]):
    """PTB's rate limiter interface over a :class:`Schedule`, dispatched by one background task."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        max_retries: int = 5,
        retry_buffer: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.schedule = Schedule(limits or Limits())
        self.max_retries = max_retries
        self.retry_buffer = retry_buffer
        self._clock = clock
        self._sleep = sleep
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        """Nothing to do: the dispatcher starts with the first request."""

    async def shutdown(self) -> None:
        """Stop the dispatcher; requests still waiting fail with a NetworkError."""
        task, self._dispatcher = self._dispatcher, None
        await cancel_and_wait(task)
        for ticket in self.schedule.clear():
            if ticket.waiter is not None and not ticket.waiter.done():
                ticket.waiter.set_exception(NetworkError("the rate limiter was shut down"))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Broadcast | Priority | None,
    ) -> Result:
        """Wait for the request's turn, send it, and retry it after a ``RetryAfter``."""
        chat = data.get("chat_id")
        limited = chat is not None and not endpoint.startswith(UNLIMITED_PREFIXES)
        broadcast = rate_limit_args if isinstance(rate_limit_args, Broadcast) else None
        priority = rate_limit_args if isinstance(rate_limit_args, Priority) else Priority.REPLY
        if broadcast is not None:
            priority = Priority.BROADCAST
        ticket = Ticket(_chat_key(chat), priority, next(self._seq), args=broadcast) if limited else None
        for attempt in itertools.count():
            if ticket is not None:
                await self._turn(ticket, retry=attempt > 0)
                self.schedule.started(ticket, self._clock())
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc) + self.retry_buffer
                self.schedule.pause(self._clock() + wait)
                if broadcast is not None:
                    broadcast.on_wire = False
                if attempt >= self.max_retries:
                    log.warning("%s: flood control still on after %d retries", endpoint, attempt)
                    raise
                log.info("%s: flood control, everything queued waits %.1f s", endpoint, wait)
                if ticket is None:
                    await self._sleep(wait)
            finally:
                if ticket is not None:
                    self.schedule.answered(ticket, self._clock())
                    if self._wake is not None:
                        self._wake.set()  # the limits may allow more now
        raise AssertionError("unreachable")  # pragma: no cover

    async def _turn(self, ticket: Ticket, *, retry: bool) -> None:
        """Queue ``ticket`` and wait until the dispatcher lets it go."""
        loop = asyncio.get_running_loop()
        ticket.waiter = loop.create_future()
        self.schedule.push(ticket, front=retry)
        self._ensure_dispatcher().set()
        try:
            await ticket.waiter
        except asyncio.CancelledError:
            self.schedule.discard(ticket)
            self.schedule.answered(ticket, self._clock())  # granted, but it never left
            raise

    def _ensure_dispatcher(self) -> asyncio.Event:
        if self._wake is None or self._dispatcher is None or self._dispatcher.done():
            self._wake = asyncio.Event()  # an Event belongs to the loop it was first used on
            self._dispatcher = asyncio.create_task(self._dispatch(self._wake), name="rate limiter")
        return self._wake

    async def _dispatch(self, wake: asyncio.Event) -> None:
        """Let requests go one slot at a time; sleep until the next one may go or one arrives."""
        while True:
            now = self._clock()
            decision = self.schedule.next(now)
            if isinstance(decision, Ticket):
                if decision.args is not None:
                    decision.args.on_wire = True
                if decision.waiter is not None:
                    decision.waiter.set_result(None)
                continue
            wake.clear()
            if decision is None:
                await wake.wait()
            else:
                await self._idle(wake, decision - now)

    async def _idle(self, wake: asyncio.Event, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()


def _chat_key(chat: object) -> ChatKey:
    """Chat ids arrive as int or str; "@channel" usernames stay strings (groups for the limits)."""
    if isinstance(chat, int):
        return chat
    try:
        return int(str(chat))
    except ValueError:
        return str(chat)
