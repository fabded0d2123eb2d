"""The rate limiter's decisions: which queued request goes next, and when. Pure: no I/O,
no clock (times are floats passed in), so every decision is tested on a fake clock.

Each chat has a FIFO queue; the next free slot goes to the oldest ready request of the
highest priority. The limits are kept on when earlier messages can have reached
Telegram (see :class:`Schedule`). :mod:`bot.delivery.limiter` runs this on the event loop.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

ChatKey = int | str


class Priority(IntEnum):
    BROADCAST = 0
    REPLY = 1


@dataclass(slots=True)
class Broadcast:
    """``rate_limit_args`` of an outbox send: it yields to replies.

    ``on_wire`` is True from the moment the limiter lets the request go until it is
    re-queued after a ``RetryAfter``: cancelling the caller then could lose track of a
    message Telegram already accepted, so a stopping sender lets such requests finish.
    """

    on_wire: bool = False


PAID_PER_SECOND = 1000  # with allow_paid_broadcast (0.1 Telegram Stars a message)


@dataclass(frozen=True, slots=True)
class Limits:
    overall: int = 30
    overall_period: float = 1.0
    per_chat_interval: float = 1.0
    group: int = 20
    group_period: float = 60.0
    margin: float = 0.02
    """Every period is stretched by this fraction, for the jitter of Telegram's own clock."""
    max_flight: float = 0.5
    """A request still unanswered this long is assumed to have reached Telegram by then."""

    @classmethod
    def paid(cls) -> Limits:
        """Telegram's paid broadcasts: up to 1,000 messages a second bot-wide (each chat's and
        group's own limits stay)."""
        return cls(overall=PAID_PER_SECOND)

    @property
    def slot(self) -> float:
        """Seconds between two overall slots."""
        return self.overall_period * (1 + self.margin) / self.overall


@dataclass(slots=True)
class Flight:
    """A request that went out: when it left, and when Telegram's answer came (None: in flight)."""

    start: float
    end: float | None = None
    arrived_by: float | None = None
    """The latest moment it can have reached Telegram: its answer less the shortest round
    trip seen before it (its own may be long because it was held up on the way)."""


@dataclass(eq=False, slots=True)
class Ticket:
    """One request waiting for its turn."""

    chat: ChatKey
    priority: Priority = Priority.REPLY
    seq: int = 0
    waiter: asyncio.Future[None] | None = None
    args: Broadcast | None = None
    flight: Flight | None = None

    @property
    def group(self) -> bool:
        return isinstance(self.chat, str) or self.chat < 0

    @property
    def abandoned(self) -> bool:
        """Its caller stopped waiting (cancelled)."""
        return self.waiter is not None and self.waiter.done()


@dataclass(slots=True)
class Schedule:
    """Which queued request goes next, and when: the limiter's decisions, no I/O, no clock.

    Telegram counts a message when it arrives, somewhere between the moment it left and
    its answer. Each limit is kept on the latest moment an earlier message can have
    arrived (its answer less the shortest round trip seen), so a request delayed on its
    way (a busy event loop, a slow network) never crowds the next ones into one window.
    """

    limits: Limits = field(default_factory=Limits)
    paused_until: float = -math.inf
    _queues: dict[ChatKey, deque[Ticket]] = field(default_factory=dict)
    _recent: deque[Flight] = field(default_factory=deque)
    _next_slot: float = -math.inf
    _chat_last: dict[ChatKey, Flight] = field(default_factory=dict)
    _group_times: dict[ChatKey, deque[Flight]] = field(default_factory=dict)
    _round_trips: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    _grants: int = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def push(self, ticket: Ticket, *, front: bool = False) -> None:
        """Queue ``ticket`` behind its chat's others (``front``: a retry keeps its turn)."""
        queue = self._queues.setdefault(ticket.chat, deque())
        queue.appendleft(ticket) if front else queue.append(ticket)

    def discard(self, ticket: Ticket) -> None:
        queue = self._queues.get(ticket.chat)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
            if not queue:
                del self._queues[ticket.chat]

    def clear(self) -> list[Ticket]:
        """Empty every queue; returns what was waiting."""
        waiting = [t for q in self._queues.values() for t in q]
        self._queues.clear()
        return waiting

    def pause(self, until: float) -> None:
        """Nothing goes before ``until`` (Telegram's flood control)."""
        self.paused_until = max(self.paused_until, until)

    def started(self, ticket: Ticket, now: float) -> None:
        """The request of ``ticket`` actually left at ``now`` (it may lag its grant)."""
        if ticket.flight is not None:
            ticket.flight.start = max(ticket.flight.start, now)

    def answered(self, ticket: Ticket, now: float) -> None:
        """Telegram's answer (or an error) to ``ticket`` came at ``now``."""
        flight = ticket.flight
        if flight is not None and flight.end is None:
            flight.end = max(now, flight.start)
            flight.arrived_by = max(flight.start, flight.end - min(self._round_trips, default=0.0))
            self._round_trips.append(flight.end - flight.start)

    def next(self, now: float) -> Ticket | float | None:
        """The ticket to let go at ``now`` (recorded as sent), else when to ask again (None: idle)."""
        self._drop_abandoned()
        if not self._queues:
            return None
        ready = max(self.paused_until, self._next_slot, self._window_ready())
        if now < ready:
            return ready
        best: tuple[tuple[int, int], ChatKey] | None = None
        wake = math.inf
        for chat, queue in self._queues.items():
            at = self._chat_ready(chat, queue[0].group)
            if at > now:
                wake = min(wake, at)
                continue
            # a reply queued behind a broadcast in the same chat lifts the whole chat
            rank = (-max(t.priority for t in queue), queue[0].seq)
            if best is None or rank < best[0]:
                best = (rank, chat)
        if best is None:
            return wake
        queue = self._queues[best[1]]
        ticket = queue.popleft()
        if not queue:
            del self._queues[best[1]]
        self._record(ticket, now)
        return ticket

    # -- bookkeeping ----------------------------------------------------------------
    def _drop_abandoned(self) -> None:
        for chat in [c for c, q in self._queues.items() if any(t.abandoned for t in q)]:
            kept = deque(t for t in self._queues[chat] if not t.abandoned)
            if kept:
                self._queues[chat] = kept
            else:
                del self._queues[chat]

    def _arrived_by(self, flight: Flight) -> float:
        """The latest moment this request can have reached Telegram."""
        if flight.arrived_by is None:  # still in flight
            return flight.start + self.limits.max_flight
        return flight.arrived_by

    def _window_ready(self) -> float:
        if len(self._recent) < self.limits.overall:
            return -math.inf
        return self._arrived_by(self._recent[0]) + self.limits.overall_period * (1 + self.limits.margin)

    def _chat_ready(self, chat: ChatKey, group: bool) -> float:
        limits = self.limits
        last = self._chat_last.get(chat)
        at = -math.inf if last is None else self._arrived_by(last) + limits.per_chat_interval * (1 + limits.margin)
        times = self._group_times.get(chat)
        if group and times is not None and len(times) >= limits.group:
            at = max(at, self._arrived_by(times[0]) + limits.group_period * (1 + limits.margin))
        return at

    def _record(self, ticket: Ticket, now: float) -> None:
        limits = self.limits
        ticket.flight = flight = Flight(now)
        self._recent.append(flight)
        while len(self._recent) > limits.overall:
            self._recent.popleft()
        # Evenly spaced slots; a dispatcher that woke a little late does not drift.
        base = self._next_slot if now - self._next_slot < limits.slot else now
        self._next_slot = base + limits.slot
        self._chat_last[ticket.chat] = flight
        if ticket.group:
            times = self._group_times.setdefault(ticket.chat, deque(maxlen=limits.group))
            times.append(flight)
        self._grants += 1
        if self._grants % 1024 == 0:
            self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop the memory of chats whose limits no longer constrain anything."""
        limits = self.limits
        quiet = now - limits.per_chat_interval * (1 + limits.margin) - limits.max_flight
        self._chat_last = {c: f for c, f in self._chat_last.items() if f.start > quiet or c in self._queues}
        old = now - limits.group_period * (1 + limits.margin) - limits.max_flight
        self._group_times = {c: t for c, t in self._group_times.items() if t[-1].start > old or c in self._queues}
