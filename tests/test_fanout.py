"""An alert for a large audience is queued a chunk of chats at a time: the same messages, in the
same order per chat, as queued at once; nothing lost or doubled across a kill -9 between chunks;
the chats still waiting count as told; a restarted bot finishes the job without a new price."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from bot.delivery import sender as sender_module
from bot.engine.engine import Engine
from bot.store import chats, fanout, market, open_db, outbox
from bot.store.own_levels import add_level
from bot.store.prefs import set_mute
from tests.telegram_harness import bot_settings, running_bot
from tests.test_delivery import until
from tests.test_engine import HOURS, T0, engine, quote

ROOT = Path(__file__).resolve().parents[1]
CHATS = range(1, 13)
# a break of 90,000, a chop back and forth within the hour (one thread, edited in place),
# chats' own levels on the way up, then hours later a second break
PATH = [(0, 90_400), (1, 89_600), (2, 90_300), (3, 89_700), (4, 90_350), (5, 91_000), (6, 92_400), (300, 89_000)]


def audience(db) -> None:
    for chat_id in CHATS:
        chats.remember_chat(db, chat_id, "private", now=T0)
        chats.set_subscribed(db, chat_id, True, now=T0)
    for chat_id in (2, 5, 9):
        add_level(db, chat_id, "BTC", 90_800 + 10 * chat_id, "above", T0)
    set_mute(db, 7, "level_break", T0 + timedelta(hours=1))


def outbox_by_chat(db) -> dict[int, list[tuple[object, ...]]]:
    """Each chat's deliveries in queue order: the alerts of each (by key), its thread, what it edits."""
    seen: dict[int, list[tuple[object, ...]]] = {}
    rows = db.execute(
        """
        SELECT d.chat_id, group_concat(a.key, '|'), d.thread,
               (SELECT group_concat(a2.key, '|') FROM delivery_alerts x JOIN alerts a2 ON a2.id = x.alert_id
                WHERE x.delivery_id = d.edit_of)
        FROM deliveries d JOIN delivery_alerts da ON da.delivery_id = d.id JOIN alerts a ON a.id = da.alert_id
        GROUP BY d.id ORDER BY d.id
        """
    )
    for chat_id, keys, thread, edits in rows:
        seen.setdefault(chat_id, []).append((keys, thread, edits))
    return seen


def run_path(db, eng: Engine, *, fan_out_every: int) -> None:
    for i, (minutes, price) in enumerate(PATH):
        q = quote(price, minutes)
        market.insert_quotes(db, [q])
        eng.process(q.ts, quotes=[q])
        if (i + 1) % fan_out_every == 0:
            asyncio.run(eng.fan_out())
    asyncio.run(eng.fan_out())


def test_queued_in_chunks_each_chat_gets_what_it_gets_queued_at_once_in_the_same_order(tmp_path):
    at_once, chunked = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    for db in (at_once, chunked):
        audience(db)
    run_path(at_once, engine(at_once), fan_out_every=1)
    # two chats a transaction, and several decisions waiting at once before they are queued
    run_path(chunked, engine(chunked, chunk=2), fan_out_every=3)
    expected = outbox_by_chat(at_once)
    assert sorted(expected) == list(CHATS)
    assert any(thread for messages in expected.values() for _, thread, _ in messages)  # a chop thread
    assert any(edits for messages in expected.values() for _, _, edits in messages)  # edited in place
    assert outbox_by_chat(chunked) == expected
    assert fanout.waiting(chunked) == 0


def test_the_chats_still_waiting_count_as_told_and_nobody_is_queued_twice(tmp_path):
    db = open_db(tmp_path / "bot.db")
    audience(db)
    eng = engine(db, chunk=5)
    market.insert_quotes(db, [quote(90_400, 0), quote(89_600, 1)])
    eng.process(T0, quotes=[quote(90_400, 0)])
    [d] = eng.process(T0 + timedelta(minutes=1), quotes=[quote(89_600, 1)])
    assert len(d.chat_ids) == 11  # chat 7 muted the breaks
    while True:
        queued = outbox.chats_queued(db, d.alert_id)
        waiting = fanout.chats_waiting_for(db, d.alert_id)
        assert sorted(queued + waiting) == list(d.chat_ids) and not set(queued) & set(waiting)
        assert fanout.waiting(db) == len(waiting)
        if not waiting:
            break
        assert fanout.expand(db, 5) > 0
    assert len(queued) == 11 and fanout.expand(db, 5) == 0


KILLED_MID_FAN_OUT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from bot.store import fanout, market
    from tests.test_engine import engine, quote
    from tests.test_fanout import audience
    from bot.store import open_db

    db = open_db(sys.argv[1])
    audience(db)
    eng = engine(db, chunk=2)
    expand, calls = fanout.expand, [0]

    def dying(db, limit=None):
        calls[0] += 1
        if calls[0] == 5:  # the first poll's call (nothing to queue), then three chunks by fan_out
            os.kill(os.getpid(), signal.SIGKILL)
        return expand(db, limit)

    fanout.expand = dying
    market.insert_quotes(db, [quote(90_400, 0), quote(89_600, 1)])
    eng.process(quote(90_400, 0).ts, quotes=[quote(90_400, 0)])
    eng.process(quote(89_600, 1).ts, quotes=[quote(89_600, 1)])
    asyncio.run(eng.fan_out())
    """
)


def test_a_kill_9_between_chunks_loses_and_doubles_nothing(tmp_path):
    path = tmp_path / "bot.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", KILLED_MID_FAN_OUT, str(path)], cwd=ROOT, env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    db = open_db(path)
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 6  # three chunks of two chats
    assert fanout.waiting(db) == 5
    restarted = engine(db)
    assert asyncio.run(restarted.fan_out()) == 5
    rows = db.execute("SELECT chat_id, count(*) FROM delivery_alerts GROUP BY chat_id ORDER BY chat_id").fetchall()
    assert rows == [(c, 1) for c in CHATS if c != 7]


async def test_a_restarted_bot_queues_and_sends_what_was_decided_before_it_stopped(tmp_path, fake):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    audience(db)
    eng = Engine(db, settings, HOURS, chunk=3)
    market.insert_quotes(db, [quote(90_400, 0), quote(89_600, 1)])
    eng.process(T0, quotes=[quote(90_400, 0)])
    eng.process(T0 + timedelta(minutes=1), quotes=[quote(89_600, 1)])
    assert fanout.waiting(db) == 11  # the bot stopped here: decided, nothing queued yet
    told = [c for c in CHATS if c != 7]
    async with running_bot(settings, fake, db, engine=Engine(db, settings, HOURS)):
        await until(lambda: sorted(s.chat_id for s in fake.sent) == told, what="every chat's message")
    assert fanout.waiting(open_db(settings.database_path)) == 0


async def test_an_alert_decided_wakes_the_sender_instead_of_waiting_for_its_next_poll(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(sender_module, "POLL", 3600.0)  # an hour between polls: only a wake-up sends it
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    audience(db)
    eng = Engine(db, settings, HOURS)
    told = [c for c in CHATS if c != 7]
    async with running_bot(settings, fake, db, engine=eng):
        market.insert_quotes(db, [quote(90_400, 0), quote(89_600, 1)])
        await eng.decide(T0, quotes=[quote(90_400, 0)])
        await eng.decide(T0 + timedelta(minutes=1), quotes=[quote(89_600, 1)])
        await until(lambda: sorted(s.chat_id for s in fake.sent) == told, what="the alert, without a poll")
