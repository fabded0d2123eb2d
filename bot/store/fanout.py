"""From decided alerts to one queued message per chat, a chunk of chats at a time.

The engine records what it decided (:func:`plan`: the alerts of this moment, each with the
sorted ids of the chats it goes to) in one transaction with the alerts and the rule state.
:func:`expand` turns plans into the outbox's deliveries: each chat gets one message with the
alerts of the moment that are for it (most important first), or, for an alert of a thread it
has open already, an edit of that thread's message. Queueing costs about 10 µs a chat: a
crossing for 100,000 chats would hold the bot (and the database's write lock) for more than a
second, so :func:`expand` does ``limit`` chats at a time, each chunk in its own transaction
with the plan's cursor, and the caller gives the event loop its turn between chunks. A crash
between chunks resumes at the cursor; the outbox's (alert, chat) uniqueness stops any chat
from being queued an alert twice. Plans are expanded strictly in turn, so a chat's messages
keep the order their alerts were decided in.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot.store import outbox
from bot.store.db import utcnow_iso


@dataclass(frozen=True, slots=True)
class Planned:
    """One decided alert and the chats it goes to (sorted ids)."""

    alert_id: int
    thread: str | None
    chats: Sequence[int]


def plan(db: Database, alerts: Sequence[Planned], now: datetime) -> int:
    """Record ``alerts`` (most important first) to be queued for their chats; returns how many chats."""
    alerts = [a for a in alerts if a.chats]
    if not alerts:
        return 0
    everyone = alerts[0].chats if len(alerts) == 1 else sorted(set().union(*(a.chats for a in alerts)))
    fanout_id = db.execute(
        "INSERT INTO fanouts (chats, decided_at) VALUES (?, ?)", [_pack(everyone), utcnow_iso(now)]
    ).lastrowid
    db.conn.executemany(
        "INSERT INTO fanout_alerts (fanout_id, position, alert_id, thread, chats) VALUES (?, ?, ?, ?, ?)",
        [(fanout_id, i, a.alert_id, a.thread, _pack(a.chats)) for i, a in enumerate(alerts)],
    )
    return len(everyone)


def expand(db: Database, limit: int | None = None) -> int:
    """Queue the messages of the next ``limit`` chats (None: all) of the oldest plans, in one
    transaction; returns how many chats were done (0: nothing is waiting)."""
    done = 0
    with db.atomic():
        while limit is None or done < limit:
            row = db.execute("SELECT id, chats, done FROM fanouts ORDER BY id LIMIT 1").fetchone()
            if row is None:
                break
            fanout_id, everyone, start = int(row[0]), _unpack(row[1]), int(row[2])
            end = len(everyone) if limit is None else min(len(everyone), start + limit - done)
            _queue_chunk(db, fanout_id, everyone[start:end])
            if end >= len(everyone):
                db.execute("DELETE FROM fanouts WHERE id = ?", [fanout_id])
            else:
                db.execute("UPDATE fanouts SET done = ? WHERE id = ?", [end, fanout_id])
            done += end - start
    return done


def pending(db: Database) -> bool:
    """Whether a plan waits to be queued."""
    return db.execute("SELECT 1 FROM fanouts LIMIT 1").fetchone() is not None


def waiting(db: Database) -> int:
    """How many chats of recorded plans have nothing queued yet."""
    total = 0
    for chats, done in db.execute("SELECT chats, done FROM fanouts"):
        total += len(chats) // _WIDTH - int(done)
    return total


def chats_waiting_for(db: Database, alert_id: int) -> list[int]:
    """Chats ``alert_id`` goes to whose message is not queued yet."""
    waiting_chats: list[int] = []
    for chats, everyone, done in db.execute(
        "SELECT a.chats, f.chats, f.done FROM fanout_alerts a JOIN fanouts f ON f.id = a.fanout_id"
        " WHERE a.alert_id = ?",
        [alert_id],
    ):
        queued = _unpack(everyone)[: int(done)]
        last = queued[-1] if queued else None
        mine = _unpack(chats)
        waiting_chats += mine if last is None else mine[bisect_right(mine, last) :]
    return waiting_chats


# -- one chunk ------------------------------------------------------------------------------


@dataclass
class Bundle:
    """The alerts of one chat's message of this moment; it may open one thread (a chop)."""

    chat_id: int
    ids: list[int] = field(default_factory=list)
    thread: str | None = None
    thread_at: int = 0  # where the thread's alert is in ``ids``

    def take(self, alert_id: int, thread: str | None, opened: bool) -> bool:
        """Add the alert; False if it updates a thread the chat has open (``opened``): queue it as an edit."""
        if thread is None:
            self.ids.append(alert_id)
        elif thread == self.thread:  # the thread this message opens moved on before it went out
            self.ids[self.thread_at] = alert_id
        elif self.thread is None and not opened:
            self.thread, self.thread_at = thread, len(self.ids)
            self.ids.append(alert_id)
        else:
            return False
        return True


def _queue_chunk(db: Database, fanout_id: int, chats: Sequence[int]) -> None:
    """Queue, for each of ``chats`` (sorted ids), its message of the plan, then its thread edits."""
    if not chats:
        return
    low, high = chats[0], chats[-1]
    members: list[tuple[int, str | None, set[int]]] = []
    for alert_id, thread, packed in db.execute(
        "SELECT alert_id, thread, chats FROM fanout_alerts WHERE fanout_id = ? ORDER BY position", [fanout_id]
    ):
        mine = _unpack(packed)
        members.append((int(alert_id), thread, set(mine[bisect_left(mine, low) : bisect_right(mine, high)])))
    opened = {thread: _open_threads(db, thread, low, high) for _, thread, _ in members if thread is not None}
    messages: list[outbox.Message] = []
    edits: list[outbox.Message] = []
    for chat in chats:
        bundle = Bundle(chat)
        for alert_id, thread, wanted in members:
            if chat not in wanted:
                continue
            if not bundle.take(alert_id, thread, thread is not None and chat in opened[thread]):
                edits.append(outbox.Message(chat, (alert_id,), thread, edit=True))
        if bundle.ids:
            messages.append(outbox.Message(chat, tuple(bundle.ids), bundle.thread))
    outbox.queue(db, messages)
    outbox.queue(db, edits)


def _open_threads(db: Database, thread: str, low: int, high: int) -> set[int]:
    """The chats among ids ``low``…``high`` that have a message of ``thread`` (an edit updates it)."""
    rows = db.execute(
        "SELECT DISTINCT chat_id FROM deliveries WHERE thread = ? AND edit_of IS NULL AND chat_id BETWEEN ? AND ?",
        [thread, low, high],
    )
    return {int(chat_id) for (chat_id,) in rows}


# -- chat ids, packed -----------------------------------------------------------------------

_WIDTH = array("q").itemsize


def _pack(chats: Iterable[int]) -> bytes:
    packed = array("q", chats)
    if sys.byteorder == "big":  # stored little-endian whatever the machine
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> array[int]:
    chats = array("q")
    chats.frombytes(blob)
    if sys.byteorder == "big":
        chats.byteswap()
    return chats
