"""The sender drains the outbox: each (alert, chat) delivery is marked sent only after
Telegram accepted it, so a crash or restart re-sends exactly what was not yet sent.

Usage::

    sender = Sender(db, app.bot, clock, attach=chart_for)   # attach: optional chart photo
    sender.start()                                          # its own task: never blocks handlers
    ...
    await sender.stop()                                     # before app.stop()

Up to ``concurrency`` deliveries are in flight at once (one per chat, so a chat's alerts
arrive in order), each waiting for its slot in the bot's rate limiter
(:class:`~bot.delivery.limiter.SmoothRateLimiter`), so network latency does not cap the
rate. Outcomes:

* ``RetryAfter`` → the limiter holds everything queued and retries; if it gives up, the
  delivery stays pending and the sender starts nothing new until the time is up;
* Telegram unreachable or failing on its side (network errors, time-outs, 5xx) → never
  dropped: the delivery tries again with a growing delay (at most ``retry_cap``) for as long
  as it takes; ``OUTAGE_AFTER`` such failures in a row make an outage, during which every
  delivery waits. The log says when Telegram becomes unreachable and when it is back, with
  the number of deliveries waiting, not every attempt. A message that goes out late says so
  ("Delayed: Telegram was unreachable from … to …"). Alerts older than ``max_age`` by the
  time they could go out are not sent one by one: each chat gets one message listing them
  (:func:`bot.store.outbox.expire`, in the same transaction that retires them);
* ``Forbidden`` or "chat not found" → the chat is marked blocked and its queue dropped;
* any other ``BadRequest`` → logged with the alert id and dropped, never retried forever.

The database refusing a write (disk full, read-only) stops the sender: what Telegram had
accepted is kept in memory until it can be recorded, nothing new is sent, and the log,
``/status`` and the admin chats say so once. Each poll tries the held writes again; once they
go through, sending resumes where it stopped and nothing is sent twice.

Stopping (or cancelling) the sender drops the requests still waiting for a slot (they
stay pending) and lets those already at Telegram finish and be recorded, so a restart
sends the rest and none twice. (A hard kill, SIGKILL or power loss, can still repeat the
few messages that were at Telegram but not yet recorded: at most ``concurrency``.) A
delivery of several messages (text parts, a chart) records each accepted message
(``parts_sent``) and resumes after the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database
from telegram import Bot, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.backoff import capped_exponential
from bot.clock import Clock
from bot.delivery.compose import Part, compose
from bot.delivery.limiter import Broadcast, SmoothRateLimiter, retry_after_seconds
from bot.delivery.photos import Attach, Photos
from bot.delivery.tasks import cancel_and_wait
from bot.formatting import fmt_age
from bot.health import HealthRegistry
from bot.i18n import t
from bot.logs import redact
from bot.metrics import Metrics
from bot.store import chats, outbox, own_levels
from bot.store.due import Pending, due_deliveries

log = logging.getLogger(__name__)

CONCURRENCY = 32
POLL = 1.0  # seconds between two looks for deliveries whose retry came due (new ones wake the sender)
_CANNOT_EDIT = ("message to edit not found", "message can't be edited", "message_id_invalid")
OUTAGE_AFTER = 3  # failures in a row, none going through between them: Telegram is unreachable
STOP_GRACE = 10.0  # seconds a stopping sender waits for requests already at Telegram
MAX_AGE = timedelta(hours=3)  # an alert older than this when it could be sent is only listed in a summary
EXPIRE_EVERY = timedelta(minutes=1)  # how often the sender looks for such alerts


@dataclass(slots=True)
class _Unit:
    item: Pending
    wire: Broadcast = field(default_factory=Broadcast)


class Sender:
    def __init__(
        self,
        db: Database,
        bot: Bot,
        clock: Clock,
        *,
        attach: Attach | None = None,
        concurrency: int = CONCURRENCY,
        retry_base: float = 5.0,
        retry_cap: float = 300.0,
        poll: float | None = None,
        max_age: timedelta | None = MAX_AGE,  # None: never expire (a replay's clock runs fast)
        health: HealthRegistry | None = None,
        admin_chats: tuple[int, ...] = (),
        metrics: Metrics | None = None,
        paid: bool = False,
    ) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.photos = Photos(attach) if attach is not None else None
        self._owned = functools.partial(own_levels.find_level, db)  # "your alert #3": the chat's own level
        self.concurrency = max(1, concurrency)
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.poll = POLL if poll is None else poll
        self.max_age = max_age
        self.health = health or HealthRegistry()
        self.admin_chats = admin_chats
        self.metrics = metrics or Metrics()
        self.paid = paid  # Telegram's paid broadcasts: allow_paid_broadcast on every new message
        self._held: list[Callable[[], object]] = []  # outcomes to write once the database takes writes
        self.paused_until: datetime | None = None
        self.unreachable_since: datetime | None = None  # Telegram has not answered since then
        self._outage_tries = 0
        self._failures_in_a_row = 0
        self._limited = isinstance(getattr(bot, "rate_limiter", None), SmoothRateLimiter)
        self._refill = max(1, self.concurrency // 4)
        self._units: dict[asyncio.Task[str], _Unit] = {}
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._expired_at: datetime | None = None  # when expired alerts were last looked for
        self._woken = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` as its own task (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="outbox sender")
        return self._task

    async def stop(self) -> None:
        """Stop the task started by :meth:`start`; what is at Telegram is recorded first."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def wake(self) -> None:
        """New deliveries are queued: send them now, not at the next poll (the engine calls this)."""
        self._woken.set()

    async def run(self) -> None:
        """Drain the outbox until cancelled: at once when woken (:meth:`wake`), and every ``poll``
        seconds for the deliveries whose retry comes due."""
        while True:
            self._woken.clear()
            try:
                if self.metrics.port is not None:  # served: someone reads it
                    self.metrics.outbox_pending.set(outbox.pending_count(self.db))
                await self.drain()
            except Exception:
                log.exception("the outbox sender failed; trying again in %.0f s", self.poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.poll)

    @property
    def in_flight(self) -> int:
        return len(self._units)

    # -- draining -------------------------------------------------------------------
    async def drain(self, limit: int | None = None) -> int:
        """Send what is due (up to ``limit``), ``concurrency`` at a time, until nothing is
        due and nothing in flight; returns how many deliveries Telegram accepted."""
        budget = math.inf if limit is None else limit
        accepted = 0
        self._stopping = False
        if not await self._storage_ok():
            return 0
        self._write(self._expire)
        try:
            while True:
                width = 1 if self.unreachable_since is not None else self.concurrency  # an outage: one probe
                free = width - len(self._units)
                if budget > 0 and free > 0 and (free >= self._refill or not self._units) and self._may_start():
                    busy = {unit.item.chat_id for unit in self._units.values()}
                    due = due_deliveries(self.db, self.clock.now(), int(min(free, budget)), skip_chats=busy)
                    for item in due:
                        unit = _Unit(item)
                        self._units[asyncio.create_task(self._deliver(unit), name=f"delivery {item.delivery_id}")] = (
                            unit
                        )
                        budget -= 1
                if not self._units:
                    return accepted
                done, _ = await asyncio.wait(self._units, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self._units.pop(task, None)
                    accepted += not task.cancelled() and task.result() == "sent"
        except asyncio.CancelledError:
            await self._settle()
            raise

    def _expire(self) -> None:
        """Alerts too old to be worth a message each are listed in one summary per chat (looked
        for once a minute: ages count in hours, and the query reads every pending delivery)."""
        now = self.clock.now()
        if self.max_age is None or (self._expired_at is not None and now - self._expired_at < EXPIRE_EVERY):
            return
        self._expired_at = now
        busy = {unit.item.delivery_id for unit in self._units.values()}
        expired = outbox.expire(self.db, now - self.max_age, skip=busy)
        if expired:
            self.metrics.deliveries.labels("expired").inc(sum(expired.values()))
            log.warning(
                "%d deliveries older than %s expired: %d chats get one summary each",
                sum(expired.values()),
                fmt_age(self.max_age),
                len(expired),
            )

    def _may_start(self) -> bool:
        if self._stopping or self._held:
            return False
        return self.paused_until is None or self.clock.now() >= self.paused_until

    async def _settle(self) -> None:
        """Cancelled: give up what waits for a slot, let what is at Telegram finish."""
        self._stopping = True
        for task, unit in self._units.items():
            if not unit.wire.on_wire:
                task.cancel()
        if self._units:
            _, late = await asyncio.wait(self._units, timeout=STOP_GRACE)
            for task in late:
                log.warning("delivery %s still unanswered at shutdown", self._units[task].item.delivery_id)
                task.cancel()
        self._units.clear()

    # -- one delivery ----------------------------------------------------------------
    async def _deliver(self, unit: _Unit) -> str:
        item = unit.item
        try:
            now, max_age = self.clock.now(), self.max_age or MAX_AGE
            parts = await compose(item, self.photos, now, max_age, self._owned, self._username())
            if item.parts_sent >= len(parts):
                return "sent" if self._write(self._record, item, len(parts), len(parts), None) else "held"
            for index in range(item.parts_sent, len(parts)):
                message = await self._send(item.chat_id, parts[index], unit.wire)
                if index == item.parts_sent:  # the first message of it Telegram accepted
                    self._accepted(item)
                if not self._write(self._record, item, index + 1, len(parts), message):
                    return "held"  # sent, to be recorded: nothing more until the database takes writes
                if self._stopping and index + 1 < len(parts):
                    return "stopped"
            return "sent"
        except RetryAfter as exc:
            self._write(self._flood, item, exc)
            return "pause"
        except Exception as exc:  # noqa: BLE001 - every failure is classified below
            self._write(self._failed, item, exc)
            return "failed"

    def _username(self) -> str | None:
        """The bot's @username (known once it has connected), for the link to a private chat."""
        try:
            return self.bot.username
        except RuntimeError:  # not initialized: no link this time
            return None

    async def _send(self, chat_id: int, part: Part, wire: Broadcast) -> Message | None:
        extra: dict[str, Any] = {"rate_limit_args": wire} if self._limited else {}
        new: dict[str, Any] = {"allow_paid_broadcast": True} if self.paid else {}  # edits are not broadcasts
        if part.keyboard is not None:
            extra["reply_markup"] = part.keyboard
        if part.silent:  # quiet hours, a silent kind: delivered, without a sound
            new["disable_notification"] = True
        if part.reply_to is not None:  # a follow-up: under the message it follows (sent anyway if that is gone)
            new["reply_parameters"] = ReplyParameters(part.reply_to, allow_sending_without_reply=True)
        if not self._limited:
            wire.on_wire = True  # nothing queues in front of Telegram: the whole call is on the wire
        try:
            if part.edit is not None:
                try:
                    edited = await self.bot.edit_message_text(
                        part.text or "", chat_id=chat_id, message_id=part.edit, parse_mode=ParseMode.HTML, **extra
                    )
                except BadRequest as exc:
                    if "not modified" in exc.message.lower():
                        return None  # the message already says this
                    if not any(why in exc.message.lower() for why in _CANNOT_EDIT):
                        raise
                    log.info("chat %s: message %s cannot be edited (%s); sending a new one", chat_id, part.edit, exc)
                    return await self.bot.send_message(
                        chat_id=chat_id, text=part.text or "", parse_mode=ParseMode.HTML, **extra, **new
                    )
                return edited if isinstance(edited, Message) else None
            if part.photo is not None and self.photos is not None:
                return await self.photos.send(
                    part.photo,
                    lambda photo: self.bot.send_photo(
                        chat_id=chat_id, photo=photo, caption=part.text, parse_mode=ParseMode.HTML, **extra, **new
                    ),
                )
            return await self.bot.send_message(
                chat_id=chat_id, text=part.text or "", parse_mode=ParseMode.HTML, **extra, **new
            )
        finally:
            wire.on_wire = False

    # -- recording outcomes ------------------------------------------------------------
    def _accepted(self, item: Pending) -> None:
        self.metrics.deliveries.labels("sent").inc()
        if item.decided_at is not None:
            self.metrics.alert_latency.observe(max(0.0, (self.clock.now() - item.decided_at).total_seconds()))

    def _write(self, record: Callable[..., object], *args: Any) -> bool:
        """Run ``record(*args)``, a write to the database. If the database refuses it, hold it
        (in order) to be written again later and stop sending; False then."""
        if self._held:  # earlier outcomes first: they are written in the order they happened
            self._held.append(lambda: record(*args))
            return False
        try:
            record(*args)
            return True
        except sqlite3.Error as exc:
            self._held.append(lambda: record(*args))
            self._storage_failed(exc)
            return False

    def _storage_failed(self, exc: sqlite3.Error) -> None:
        if self.health.storage_failing_since is not None:
            return
        now = self.clock.now()
        self.health.storage_failing_since, self.health.storage_error = now, redact(str(exc))[:200]
        log.error(
            "the database cannot be written (%s): sending paused; what Telegram accepted is held in memory "
            "and recorded once writes succeed, nothing is sent twice",
            exc,
        )
        self._tell_admins("delivery.storage_down", error=self.health.storage_error)

    async def _storage_ok(self) -> bool:
        """Write what is held, if anything; True once nothing is (sending may go on)."""
        if not self._held:
            return True
        if self._units:  # in flight: their outcomes join the queue first
            await asyncio.wait(self._units)
            self._units.clear()
        try:
            while self._held:
                self._held[0]()
                self._held.pop(0)
        except sqlite3.Error:
            return False
        now = self.clock.now()
        since = self.health.storage_failing_since or now
        self.health.storage_failing_since, self.health.storage_error = None, None
        log.warning("the database takes writes again after %s: sending resumes", fmt_age(now - since))
        self._tell_admins("delivery.storage_back", since=fmt_age(now - since))
        return True

    def _tell_admins(self, key: str, **values: object) -> None:
        """A note to the admin chats, straight to Telegram (the outbox may not take it)."""
        for chat_id in self.admin_chats:
            note = asyncio.ensure_future(self.bot.send_message(chat_id, t("en", key, **values)))
            note.add_done_callback(_note_done)

    def _record(self, item: Pending, done: int, total: int, message: Message | None) -> None:
        message_id = message.message_id if message is not None else None
        if done < total:
            outbox.mark_progress(self.db, item.delivery_id, done, message_id)
        else:
            outbox.mark_sent(self.db, item.delivery_id, done, message_id, self.clock.now())
        self._reachable()

    def _flood(self, item: Pending, exc: RetryAfter) -> None:
        """Flood control outlasted the limiter's retries: keep it pending, start nothing new for now."""
        wait = retry_after_seconds(exc)
        resume = self.clock.now() + timedelta(seconds=wait)
        self.paused_until = max(self.paused_until or resume, resume)
        outbox.postpone(self.db, item.delivery_id, resume, _describe(exc), attempt=False)
        log.warning("Telegram flood control: deliveries wait %.0f s", wait)
        self.metrics.deliveries.labels("flood_wait").inc()

    def _failed(self, item: Pending, exc: Exception) -> None:
        now = self.clock.now()
        error = _describe(exc)
        if is_chat_gone(exc):
            with self.db.atomic():
                chats.set_blocked(self.db, item.chat_id, True, now=now)
                outbox.drop_chat(self.db, item.chat_id, f"chat gone: {error}")
            log.info("chat %s is gone (%s): marked blocked, its queue dropped", item.chat_id, error)
            self.metrics.deliveries.labels("blocked").inc()
            return
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            self._unreachable(item, error, now)
            return
        outbox.drop(self.db, item.delivery_id, error)
        self.metrics.deliveries.labels("dropped").inc()
        log.error(
            "alert %s to chat %s dropped: %s",
            item.alert_id,
            item.chat_id,
            error,
            exc_info=None if isinstance(exc, TelegramError) else exc,  # a bug: show where
        )

    def _unreachable(self, item: Pending, error: str, now: datetime) -> None:
        """Telegram did not answer or failed on its side: keep the delivery and try it again with a
        growing delay (capped), however long it takes. :data:`OUTAGE_AFTER` such failures in a
        row, with no send going through, is an outage: every delivery then waits with it."""
        self._failures_in_a_row += 1
        if item.attempts + 1 == OUTAGE_AFTER and self.unreachable_since is None:  # not an outage: this chat
            log.warning("alert %s to chat %s keeps failing (%s); still trying", item.alert_id, item.chat_id, error)
        delay = capped_exponential(item.attempts, self.retry_base, self.retry_cap)
        if self._failures_in_a_row >= OUTAGE_AFTER:
            if self.unreachable_since is None:
                self.unreachable_since, self._outage_tries = now, 0
                self.metrics.telegram_reachable.set(0)
                log.warning(
                    "Telegram unreachable (%s): %d deliveries waiting; trying again with a growing delay",
                    error,
                    outbox.pending_count(self.db),
                )
            delay = capped_exponential(self._outage_tries, self.retry_base, self.retry_cap)
            self._outage_tries += 1
            pause = now + timedelta(seconds=delay)
            self.paused_until = max(self.paused_until or pause, pause)
        resume = now + timedelta(seconds=delay)
        outbox.wait_for_telegram(self.db, item.delivery_id, resume, error, now)
        self.metrics.deliveries.labels("retried").inc()
        log.debug("delivery %s waits for Telegram until %s (%s)", item.delivery_id, resume, error)

    def _reachable(self) -> None:
        """A send went through: whatever failed before was not an outage, or it is over."""
        self._failures_in_a_row = 0
        if self.unreachable_since is not None:
            now = self.clock.now()
            log.warning(
                "Telegram reachable again after %.0f s: %d deliveries waiting",
                (now - self.unreachable_since).total_seconds(),
                outbox.pending_count(self.db),
            )
            self.unreachable_since, self.paused_until = None, None
            self.metrics.telegram_reachable.set(1)


def _note_done(note: asyncio.Future[Message]) -> None:
    if not note.cancelled() and (error := note.exception()) is not None:
        log.warning("could not tell an admin chat: %s", _describe(error))


def is_chat_gone(error: BaseException) -> bool:
    """Forbidden (blocked, kicked) or 'chat not found': sending there again is wasted work."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and "chat not found" in error.message.lower()


def _describe(exc: BaseException) -> str:
    """``Type: message``, secrets masked, short enough for the database."""
    return redact(f"{type(exc).__name__}: {exc}")[:500]
