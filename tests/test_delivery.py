"""The outbox through the rate limiter and PTB's real HTTP stack to the fake Bot API.

What Telegram would see is measured on the fake's clock: no one-second window above 30
messages, no chat above 1 a second, no group above 20 a minute; nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import Counter
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import ManualClock, SimulatedClock
from bot.delivery.schedule import Limits
from bot.formatting import fmt_time
from bot.render import html_to_plain, render
from bot.rules.levels import LevelBreak
from bot.store import chats, open_db, outbox
from bot.store.db import utcnow_iso
from bot.telegram.app import build_application, serve
from tests.fakes.flood import busiest, by_chat, flood_report
from tests.fakes.telegram import TOKEN, FakeUser
from tests.helpers import choose, chosen
from tests.telegram_harness import bot_parts, bot_settings, running_bot

T0 = datetime(2025, 12, 11, 21, 0, tzinfo=UTC)
ADA = FakeUser(111, "Ada", "ada", "en")
PNG = b"\x89PNG\r\n\x1a\nchart"


def add_chats(db, chat_ids) -> None:
    stamp = utcnow_iso(T0)
    db.conn.executemany(
        "INSERT INTO chats (id, type, subscribed, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
        [(c, "private" if c > 0 else "supergroup", stamp, stamp) for c in chat_ids],
    )
    db.conn.commit()


def level_break(level: float = 90_000.0) -> LevelBreak:
    return LevelBreak("BTC", T0, level, "down", level * 0.99, level * 0.985, 1.0)


def queue_alert(db, chat_ids, level: float = 90_000.0, decided: datetime | None = None) -> int:
    """Decide a level break for ``chat_ids`` (now, unless ``decided`` says when): the alert and its
    deliveries, as the engine writes them."""
    alert = level_break(level)
    with db.atomic():
        alert_id = outbox.record_alert(db, alert, decided or datetime.now(UTC))
        assert alert_id is not None
        outbox.queue(db, [outbox.Message(chat, (alert_id,)) for chat in chat_ids])
    assert alert_id is not None
    return alert_id


def statuses(db) -> Counter:
    return Counter(dict(db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()))


def delivery(db, chat_id: int, alert_id: int | None = None) -> dict:
    where, args = "chat_id = ?", [chat_id]
    if alert_id is not None:
        where, args = (
            where + " AND id IN (SELECT delivery_id FROM delivery_alerts WHERE alert_id = ?)",
            [chat_id, alert_id],
        )
    return next(db.query(f"SELECT * FROM deliveries WHERE {where} ORDER BY id", args))


async def until(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def drained(bot, timeout: float = 30.0) -> None:
    sender = bot.app.bot_data.sender
    await until(lambda: outbox.pending_count(bot.db) == 0 and sender.in_flight == 0, timeout, "the outbox to drain")


def fast_retries(bot, **changes) -> None:
    sender = bot.app.bot_data.sender
    sender.retry_base = 0.05
    sender.poll = 0.05  # look for due retries often: they are due within a fraction of a second
    for name, value in changes.items():
        setattr(sender, name, value)


@contextlib.contextmanager
def sender_lines():
    """The sender's log lines (INFO and up) while the block runs, whatever other tests of this
    process did to logging's levels."""
    lines: list[str] = []
    listener = logging.Handler(logging.INFO)
    listener.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("bot.delivery.sender")
    saved = (logger.level, logger.disabled, logging.root.manager.disable)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logging.disable(logging.NOTSET)
    logger.addHandler(listener)
    try:
        yield lines
    finally:
        logger.removeHandler(listener)
        logger.setLevel(saved[0])
        logger.disabled = saved[1]
        logging.disable(saved[2])


def assert_once_each(fake, expected: Counter) -> None:
    got = Counter(m.chat_id for m in fake.sent if m.method in ("sendMessage", "sendPhoto"))
    assert got == expected


@pytest.mark.slow
async def test_broadcast_reaches_every_chat_once_within_telegrams_limits(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    privates, groups = list(range(1, 151)), [-1001, -1002]
    add_chats(db, privates + groups)
    queue_alert(db, groups + privates)
    busy = [1, 2, *groups]
    for level in (91_000.0, 92_000.0, 93_000.0):
        queue_alert(db, busy, level)
    async with running_bot(settings, fake, limits=Limits()) as bot:
        await drained(bot)
        assert statuses(db) == {"sent": 152 + 3 * len(busy)}
        assert db.execute("SELECT count(*) FROM deliveries WHERE message_id IS NULL").fetchone()[0] == 0
    assert_once_each(fake, Counter(dict.fromkeys(privates, 1) | dict.fromkeys(busy, 4)))
    report = flood_report(fake.sent)
    assert report.overall_max_per_second <= 30
    assert report.chat_max_per_second == 1
    assert report.group_max_per_minute <= 20
    for chat, times in by_chat(fake.sent).items():
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times)), chat
    # a chat's alerts arrive in the order they were decided
    expected = [render(level_break(level), "en", "UTC") for level in (90_000.0, 91_000.0, 92_000.0, 93_000.0)]
    assert [m.text for m in fake.messages_to(-1001)] == expected


@pytest.mark.slow
async def test_flood_control_mid_broadcast_pauses_everything_and_loses_nothing(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 81))
    add_chats(db, targets)
    queue_alert(db, targets)
    async with running_bot(settings, fake, limits=Limits()) as bot:
        await until(lambda: len(fake.sent) >= 25, what="the broadcast to start")
        fake.inject("sendMessage", 429, retry_after=1)
        await drained(bot)
        assert statuses(db) == {"sent": 80}
    assert_once_each(fake, Counter(dict.fromkeys(targets, 1)))
    tries = Counter(chat for method, chat, _ in fake.attempts if method == "sendMessage")
    [(limited, _)] = [(c, n) for c, n in tries.items() if n == 2]
    refused_at = next(at for method, chat, at in fake.attempts if chat == limited)
    after = [m.at - refused_at for m in fake.sent if m.at > refused_at]
    # nothing went out while Telegram said wait (but what was already on its way)
    assert after and not [t for t in after if 0.2 < t < 1.0], after
    assert fake.messages_to(limited)[0].at - refused_at >= 1.0
    assert busiest(m.at for m in fake.sent) <= 30


@pytest.mark.slow
async def test_a_stormy_telegram_loses_nothing_and_stops_trying_blocked_chats(fake, tmp_path):
    """Flood control (429, retry after 1 s) on the first send to a fifth of the chats, bursts of
    5xx answers, and ten chats that blocked the bot, all in one broadcast at Telegram's pace:
    every other chat gets its alerts exactly once and in order, within Telegram's limits; a
    blocked chat is asked once, marked, and never again."""
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(2000, 2060))
    add_chats(db, targets)
    blocked = set(targets[7::15])
    for chat in targets[::5]:
        fake.inject("sendMessage", 429, chat_id=chat, retry_after=1)
    for chat in blocked:
        fake.inject("sendMessage", 403, chat_id=chat, times=10**6)
    queue_alert(db, targets)
    queue_alert(db, targets, 88_000.0)  # a second alert right behind the first
    async with running_bot(settings, fake, limits=Limits()) as bot:
        fast_retries(bot, retry_cap=0.5)
        await until(lambda: len(fake.sent) >= 30, what="the broadcast to get going")
        fake.inject("sendMessage", 502, times=6)  # a burst of server errors, whoever is next
        await until(lambda: len(fake.sent) >= 80, what="more of the broadcast")
        fake.inject("sendMessage", 500, times=4)  # and another
        await drained(bot, timeout=90)
        assert statuses(db) == {"sent": 2 * (60 - len(blocked)), "dropped": 2 * len(blocked)}
        assert {c for c in targets if chats.get_chat(db, c).blocked} == blocked
    reached = [c for c in targets if c not in blocked]
    assert_once_each(fake, Counter(dict.fromkeys(reached, 2)))
    first, second = (render(level_break(level), "en", "UTC") for level in (90_000.0, 88_000.0))
    wrong = {c: [m.text for m in fake.messages_to(c)] for c in reached}
    wrong = {c: texts for c, texts in wrong.items() if texts != [first, second]}
    assert not wrong, list(wrong.items())[:2]
    tries = Counter(chat for method, chat, _ in fake.attempts if method == "sendMessage" and chat in blocked)
    assert tries == Counter(dict.fromkeys(blocked, 1))  # asked once: a blocked chat costs no more work
    report = flood_report(fake.sent)
    assert report.overall_max_per_second <= 30 and report.chat_max_per_second == 1


@pytest.mark.slow
async def test_paid_broadcasts_are_asked_for_on_every_alert_and_not_on_replies(fake, tmp_path):
    """PAID_BROADCAST=true: every alert message carries allow_paid_broadcast (Telegram then takes
    up to 1,000 a second, for 0.1 Stars each); a command's reply does not, and each chat still
    gets at most one message a second."""
    settings = bot_settings(fake, tmp_path, paid_broadcast=True)
    assert build_application(bot_parts(settings)).bot.rate_limiter.schedule.limits == Limits.paid()
    assert build_application(bot_parts(bot_settings(fake, tmp_path / "free"))).bot.rate_limiter.schedule.limits == (
        Limits()
    )
    db = open_db(settings.database_path)
    targets = list(range(1000, 1300))
    add_chats(db, targets)
    queue_alert(db, targets)
    queue_alert(db, targets[:5], 88_000.0)
    async with running_bot(settings, fake, limits=Limits.paid()) as bot:
        fake.user_sends("/help", ADA)
        await drained(bot)
        await fake.wait_for(ADA.id, 1)
    alerts = [m for m in fake.sent if m.chat_id in targets]
    assert len(alerts) == 305 and all(m.params.get("allow_paid_broadcast") in (True, "true") for m in alerts)
    assert "allow_paid_broadcast" not in fake.messages_to(ADA.id)[0].params
    report = flood_report(fake.sent)
    assert report.chat_max_per_second == 1 and report.overall_max_per_second <= 1000


async def test_blocked_chat_is_marked_and_its_queue_dropped(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 31))
    add_chats(db, targets)
    first, second = queue_alert(db, targets), queue_alert(db, targets, 92_000.0)
    fake.inject("sendMessage", 403, chat_id=7, times=5)
    async with running_bot(settings, fake) as bot:
        await drained(bot)
    assert chats.get_chat(db, 7).blocked
    assert {delivery(db, 7, a)["status"] for a in (first, second)} == {"dropped"}
    assert "chat gone" in delivery(db, 7, second)["last_error"]
    assert len([a for a in fake.attempts if a[1] == 7]) == 1  # the second alert was never tried
    assert_once_each(fake, Counter({c: 2 for c in targets if c != 7}))


async def test_chat_not_found_counts_as_gone(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    add_chats(db, [1, 2])
    queue_alert(db, [1, 2])
    fake.inject("sendMessage", 400, "Bad Request: chat not found", chat_id=2)
    async with running_bot(settings, fake) as bot:
        await drained(bot)
    assert chats.get_chat(db, 2).blocked and not chats.get_chat(db, 1).blocked
    assert delivery(db, 2)["status"] == "dropped"


async def test_other_bad_request_is_dropped_once_and_logged_with_the_alert_id(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 21))
    add_chats(db, targets)
    alert_id = queue_alert(db, targets)
    fake.inject("sendMessage", 400, "Bad Request: can't parse entities", chat_id=5, times=10)
    async with running_bot(settings, fake) as bot:
        await drained(bot)  # nothing pending: the dropped delivery is never tried again
    row = delivery(db, 5)
    assert row["status"] == "dropped" and row["attempts"] == 1
    assert "can't parse entities" in row["last_error"].lower()
    assert len([a for a in fake.attempts if a[1] == 5]) == 1
    assert not chats.get_chat(db, 5).blocked
    assert f"alert {alert_id} to chat 5 dropped" in caplog.text
    assert_once_each(fake, Counter({c: 1 for c in targets if c != 5}))
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "dropped" in ours and TOKEN.split(":")[1] not in ours


async def test_server_errors_are_retried_until_delivered_never_dropped(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 21))
    add_chats(db, targets)
    async with running_bot(settings, fake) as bot:
        fast_retries(bot, retry_cap=0.2)
        fake.inject("sendMessage", 500, chat_id=3, times=2)
        fake.inject("sendMessage", 502, chat_id=4, times=1)
        fake.inject("sendMessage", 500, chat_id=9, times=12)  # more tries than the sender ever gave up after
        queue_alert(db, targets)
        await drained(bot)
    assert [delivery(db, c)["attempts"] for c in (3, 4, 9)] == [3, 2, 13]
    assert statuses(db) == {"sent": 20}
    assert not chats.get_chat(db, 9).blocked
    assert_once_each(fake, Counter(dict.fromkeys(targets, 1)))


async def run_through_an_outage(settings, fake, db, targets) -> None:
    """An outage of 40 failed calls: minutes long on the bot's clock (100 minutes a real second;
    no alert is old enough to expire, see ``settings``)."""
    async with running_bot(settings, fake, clock=SimulatedClock(datetime.now(UTC), speed=6000)) as bot:
        fast_retries(bot, retry_cap=0.1)
        fake.inject("sendMessage", 502, times=40)  # whoever asks: Telegram is down for 40 calls
        queue_alert(db, targets)
        await drained(bot)
        assert bot.app.bot_data.sender.unreachable_since is None


async def test_an_outage_of_telegram_loses_nothing_and_late_messages_say_so(fake, tmp_path):
    """Every send fails for a while (longer than the old drop horizon of 8 attempts); then Telegram
    is back: every alert goes out once, those that waited say they are late, the log says when
    Telegram went away and came back, not every attempt."""
    settings = bot_settings(fake, tmp_path, alert_max_age_hours=168)  # late, but never expired here
    db = open_db(settings.database_path)
    targets = list(range(1, 31))
    add_chats(db, targets)
    with sender_lines() as lines:
        await run_through_an_outage(settings, fake, db, targets)
    assert statuses(db) == {"sent": 30}
    assert_once_each(fake, Counter(dict.fromkeys(targets, 1)))
    late = {m.chat_id for m in fake.sent if "Delayed: Telegram was unreachable from" in m.text}
    held = dict(  # chat → minutes Telegram held its alert up
        db.execute(
            "SELECT chat_id, (julianday(sent_at) - julianday(unreachable_since)) * 1440 FROM deliveries"
            " WHERE unreachable_since IS NOT NULL"
        ).fetchall()
    )
    assert late <= set(held) and len(late) >= 3  # those held up from the start of the outage
    assert not {c for c, minutes in held.items() if minutes < 2} & late  # a short blip is not news
    assert max(r[0] for r in db.execute("SELECT attempts FROM deliveries")) > 8  # the old limit: dropped
    assert sum("Telegram unreachable" in line for line in lines) == 1, lines
    assert sum("Telegram reachable again" in line for line in lines) == 1, lines
    assert len(lines) < 40  # state changes and chats that keep failing, not one line per attempt


async def test_alerts_too_old_after_an_outage_go_out_as_one_summary_per_chat(fake, tmp_path):
    """Telegram is down for 4 hours (a manual clock), longer than ALERT_MAX_AGE_HOURS=3: each
    chat then gets one message listing the three alerts that expired, not three stale alerts;
    an alert decided after the outage goes out as usual."""
    settings = bot_settings(fake, tmp_path, alert_max_age_hours=3)
    db = open_db(settings.database_path)
    targets = [1, 2, 3]
    add_chats(db, targets)
    clock = ManualClock(datetime.now(UTC))
    fake.inject("sendMessage", 502, times=10**6)  # down until told otherwise
    async with running_bot(settings, fake, clock=clock) as bot:
        fast_retries(bot)
        for level in (90_000.0, 92_000.0, 88_000.0):
            queue_alert(db, targets, level, decided=clock.now())
        sender = bot.app.bot_data.sender
        await until(lambda: sender.unreachable_since is not None, what="the outage to be noticed")
        down_since = sender.unreachable_since
        clock.advance(timedelta(hours=4))
        expired = "SELECT count(*) FROM deliveries WHERE status = 'pending' AND summary = 0"
        await until(lambda: db.execute(expired).fetchone()[0] == 0, what="the old alerts to expire")
        fake.injections.clear()  # Telegram is back, and the sender's next try comes
        clock.advance(timedelta(seconds=sender.retry_cap))
        await until(lambda: len(fake.sent) >= 3, what="the summaries")
        fresh = queue_alert(db, targets, 95_000.0, decided=clock.now())
        await drained(bot)
    for chat in targets:
        summary, after = [html_to_plain(m.text) for m in fake.messages_to(chat)]
        assert summary.startswith("⌛ 3 alerts expired while Telegram was unreachable (from ")
        assert fmt_time(down_since, "UTC", "en") in summary and "more than 3h old" in summary
        listed = [line for line in summary.splitlines() if line.startswith("• ")]
        assert len(listed) == 3 and all(any(f"{n:,}" in x for x in listed) for n in (88_000, 90_000, 92_000))
        assert "95,000" in after and "expired" not in after and "Delayed" not in after
    assert statuses(db) == {"sent": 6, "dropped": 9}
    reasons = {r[0] for r in db.execute("SELECT last_error FROM deliveries WHERE status = 'dropped'")}
    assert all(reason.startswith("expired: listed in summary delivery") for reason in reasons)
    assert {r[0] for r in db.execute("SELECT alert_id FROM delivery_alerts WHERE chat_id = 1")} >= {fresh}


async def test_a_database_that_refuses_writes_pauses_sending_and_nothing_is_sent_twice(fake, tmp_path):
    """The database turns read-only mid-broadcast: what Telegram accepted is held, nothing new is
    sent, the admins, the log and /status say so, commands that only read still work and one
    that writes says nothing changed; once writes succeed the rest goes out, none twice."""
    settings = bot_settings(fake, tmp_path, admin_chat_ids="999")
    db = open_db(settings.database_path)
    targets = list(range(1, 61))  # more than the 32 in flight at once
    add_chats(db, targets)
    queue_alert(db, targets)
    db.execute("PRAGMA query_only = 1")  # every write now fails: "attempt to write a readonly database"
    with sender_lines() as lines:
        async with running_bot(settings, fake, db) as bot:
            fast_retries(bot)
            [down] = await fake.wait_for(999, 1)
            assert "The database cannot be written (attempt to write a readonly database)" in down.text
            fake.user_sends("/status", ADA)
            [status] = await fake.wait_for(ADA.id, 1)
            assert "The database cannot be written for" in status.text and "none is lost" in status.text
            fake.user_sends("/set move 4%", ADA)
            refused = (await fake.wait_for(ADA.id, 2))[-1]
            assert refused.text.startswith("⚠️ Nothing was changed: the bot cannot save right now")
            held = Counter(m.chat_id for m in fake.sent if m.chat_id in targets)
            assert 0 < len(held) <= 32 and set(held.values()) == {1}  # one wave, then nothing new
            assert statuses(db) == {"pending": 60}  # nothing could be recorded, nothing was dropped

            db.execute("PRAGMA query_only = 0")  # writable again
            back = (await fake.wait_for(999, 2))[-1]
            assert "takes writes again" in back.text
            await drained(bot)
            assert statuses(db) == {"sent": 60}
            assert chosen(db, ADA.id) == {}  # the refused /set stored nothing
    assert_once_each(fake, Counter({**dict.fromkeys(targets, 1), 999: 2, ADA.id: 2}))
    assert sum("cannot be written" in line for line in lines) == 1, lines
    assert sum("takes writes again" in line for line in lines) == 1, lines


def test_expiry_keeps_every_alert_and_makes_one_summary_per_chat(tmp_path):
    """In the store: only unsent deliveries whose alerts are all older than the cut expire; a
    second expiry joins the chat's unsent summary; a delivery being sent is left alone."""
    db = open_db(tmp_path / "bot.db")
    add_chats(db, [1, 2])
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    old = [queue_alert(db, [1, 2], level, decided=now - timedelta(hours=5)) for level in (90_000.0, 91_000.0)]
    fresh = queue_alert(db, [1, 2], 92_000.0, decided=now)
    started = delivery(db, 2, old[0])["id"]
    outbox.mark_progress(db, started, 1, 77)  # chat 2 has the first part of it already

    assert outbox.expire(db, now - timedelta(hours=3)) == {1: 2, 2: 1}
    [(summary_1,)] = db.execute("SELECT id FROM deliveries WHERE chat_id = 1 AND summary = 1").fetchall()
    alerts_of = lambda delivery_id: {  # noqa: E731
        r[0] for r in db.execute("SELECT alert_id FROM delivery_alerts WHERE delivery_id = ?", [delivery_id])
    }
    assert alerts_of(summary_1) == set(old)
    assert delivery(db, 2, old[0])["status"] == "pending"  # partly sent: it is finished, not listed
    assert delivery(db, 1, fresh)["status"] == "pending" and delivery(db, 1, fresh)["summary"] == 0

    later = queue_alert(db, [1, 2], 93_000.0, decided=now - timedelta(hours=4))
    in_flight = delivery(db, 2, later)["id"]
    assert outbox.expire(db, now - timedelta(hours=3), skip={in_flight}) == {1: 1}
    assert alerts_of(summary_1) == {*old, later}  # the same unsent summary: still one per chat
    assert db.execute("SELECT count(*) FROM deliveries WHERE summary = 1").fetchone()[0] == 2
    every = {r[0] for r in db.execute("SELECT alert_id FROM delivery_alerts WHERE chat_id = 1")}
    assert every == {*old, fresh, later}  # nothing lost on the way


@pytest.mark.slow
async def test_killed_mid_broadcast_the_restart_sends_the_rest_and_nothing_twice(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 121))
    add_chats(db, targets)
    queue_alert(db, targets)
    app = build_application(bot_parts(settings, db))  # Telegram's own pace: the kill lands mid-broadcast
    task = asyncio.create_task(serve(app, asyncio.Event(), poll_timeout=1))
    await until(lambda: len(fake.sent) >= 40, what="the broadcast to get going")
    task.cancel()  # no stop event: the bot is killed
    with pytest.raises(asyncio.CancelledError):
        await task
    sent_before = {m.chat_id for m in fake.sent}
    assert 40 <= len(sent_before) < 120
    recorded = {r[0] for r in db.execute("SELECT chat_id FROM deliveries WHERE status = 'sent'")}
    assert recorded == sent_before  # what Telegram accepted is exactly what the outbox says
    db.close()

    async with running_bot(settings, fake) as bot:
        await drained(bot)
        assert statuses(bot.db) == {"sent": 120}
    assert_once_each(fake, Counter(dict.fromkeys(targets, 1)))


@pytest.mark.slow
async def test_a_command_is_answered_ahead_of_a_thousand_delivery_drain(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1000, 2000))
    add_chats(db, targets)
    queue_alert(db, targets)
    async with running_bot(settings, fake, limits=Limits()):
        await until(lambda: len(fake.sent) >= 30, what="the drain to get going")
        sent_when_asked = len(fake.sent)
        fake.user_sends("/help", ADA)
        [reply] = await fake.wait_for(ADA.id, timeout=10)
        assert "/status" in reply.text
        # The reply overtakes the queue: it does not wait behind the ~970 deliveries still to go.
        ahead = fake.sent.index(reply) - sent_when_asked
        assert ahead < 200
    assert busiest(m.at for m in fake.sent) <= 30


async def test_charts_go_as_photos_with_the_alert_as_caption(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    add_chats(db, [1, 2, 3])
    choose(db, 2, "charts", "off", T0)
    asked: list[str] = []

    async def attach(alert, lang: str) -> bytes | None:
        asked.append(lang)
        return PNG

    queue_alert(db, [1, 2, 3])
    async with running_bot(settings, fake, attach=attach) as bot:
        await drained(bot)
    [photo] = fake.messages_to(1)
    assert photo.method == "sendPhoto" and photo.photo == PNG
    assert photo.text.startswith("<b>🔻") and "90,000" in photo.text and photo.params["parse_mode"] == "HTML"
    assert [m.method for m in fake.messages_to(2)] == ["sendMessage"]  # charts off
    assert asked == ["en"]  # drawn once for both chats that want it


async def test_a_chart_is_drawn_once_per_language_uploaded_once_and_sent_by_file_id(fake, tmp_path):
    """60 chats, 20 of them in Chinese: the chart is drawn twice (once per language) and uploaded
    twice; every other chat gets the same picture by the file id Telegram gave the upload."""
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 61))
    add_chats(db, targets)
    db.execute("UPDATE chats SET language = 'zh' WHERE id > 40")
    drawn: Counter = Counter()

    async def attach(alert, lang: str) -> bytes:
        drawn[lang] += 1
        await asyncio.sleep(0.05)  # drawing takes a while: the whole first wave asks meanwhile
        return PNG + lang.encode()

    alert_id = queue_alert(db, targets)
    async with running_bot(settings, fake, attach=attach) as bot:
        await drained(bot)
        assert drawn == {"en": 1, "zh": 1}
        photos = [m for m in fake.sent if m.method == "sendPhoto"]
        assert sorted(m.chat_id for m in photos) == targets
        assert all(m.photo == PNG + (b"zh" if m.chat_id > 40 else b"en") for m in photos)
        uploads = [m.photo for m in photos if "photo" not in m.params]  # the others name a file id
        assert sorted(uploads) == [PNG + b"en", PNG + b"zh"]

        fake.files.clear()  # Telegram no longer knows the file ids: the next send uploads again
        add_chats(db, [61, 62, 63])
        with db.atomic():
            outbox.queue(db, [outbox.Message(chat, (alert_id,)) for chat in (61, 62, 63)])
        await drained(bot)
    later = [m for m in fake.sent if m.method == "sendPhoto" and m.chat_id > 60]
    assert len(later) == 3 and all(m.photo == PNG + b"en" for m in later)
    assert sum("photo" not in m.params for m in later) == 1 and drawn == {"en": 1, "zh": 1}
    assert statuses(db) == {"sent": 63}


async def test_long_text_goes_apart_from_the_chart_and_a_retry_sends_only_what_is_missing(fake, tmp_path, monkeypatch):
    import bot.delivery.compose as compose_module

    long_text = "<b>BTC</b>\n" + "\n".join(f"line {i} " + "x" * 60 for i in range(30))
    monkeypatch.setattr(compose_module, "render_message", lambda alerts, lang, tz, notes: long_text)
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    add_chats(db, [1])

    async def attach(alert, lang: str) -> bytes | None:
        return PNG

    fake.inject("sendPhoto", 502, chat_id=1, times=1)
    async with running_bot(settings, fake, attach=attach) as bot:
        fast_retries(bot)
        queue_alert(db, [1])
        await drained(bot)
    messages = fake.messages_to(1)
    assert [m.method for m in messages] == ["sendMessage", "sendPhoto"]
    assert messages[0].text == long_text and messages[1].text is None
    row = delivery(db, 1)
    assert row["status"] == "sent" and row["parts_sent"] == 2 and row["attempts"] == 2


async def test_a_failing_chart_never_holds_up_the_alert(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    add_chats(db, [1])

    async def attach(alert, lang: str) -> bytes | None:
        raise RuntimeError("no data for the chart")

    queue_alert(db, [1])
    async with running_bot(settings, fake, attach=attach) as bot:
        await drained(bot)
    assert [m.method for m in fake.messages_to(1)] == ["sendMessage"]


def queue_thread(db, chat_id: int, level: float, thread: str) -> None:
    """An alert of ``thread``: the first opens a message, the next ones update it in place."""
    with db.atomic():
        alert_id = outbox.record_alert(db, level_break(level), datetime.now(UTC))
        assert alert_id is not None
        outbox.queue(db, [outbox.Message(chat_id, (alert_id,), thread, edit=True)])


async def test_a_thread_updates_its_first_message_in_place(fake, tmp_path):
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    add_chats(db, [1, 2])
    queue_thread(db, 1, 90_000.0, "chop:BTC:90000")
    queue_thread(db, 1, 90_001.0, "chop:BTC:90000")
    queue_thread(db, 2, 91_000.0, "chop:BTC:91000")
    fake.inject("editMessageText", 400, "Bad Request: message to edit not found", chat_id=2)
    queue_thread(db, 2, 91_001.0, "chop:BTC:91000")
    async with running_bot(settings, fake) as bot:
        await drained(bot)
    first, edit = fake.messages_to(1)
    assert (first.method, edit.method) == ("sendMessage", "editMessageText")
    assert edit.params["message_id"] == str(first.message_id) and "90,001" in edit.text
    # the message to update is gone (deleted in the chat): the update is sent as a new message
    assert [m.method for m in fake.messages_to(2)] == ["sendMessage", "sendMessage"]
    assert statuses(db) == {"sent": 4}


@pytest.mark.slow  # the answers take 7 real seconds
async def test_a_slow_but_successful_send_is_not_sent_again(fake, tmp_path):
    """Telegram accepts each message but answers only after 7 s, longer than PTB's 5 s default
    read time-out (which made such sends fail and go out twice) and shorter than the bot's."""
    settings = bot_settings(fake, tmp_path)
    db = open_db(settings.database_path)
    targets = list(range(1, 6))
    add_chats(db, targets)
    fake.slow_answers["sendMessage"] = 7.0
    async with running_bot(settings, fake) as bot:
        queue_alert(db, targets)
        await drained(bot, timeout=60)
    assert statuses(db) == {"sent": 5}
    assert [delivery(db, c)["attempts"] for c in targets] == [1] * 5
    assert_once_each(fake, Counter(dict.fromkeys(targets, 1)))


def test_queue_keeps_the_order_given_and_never_queues_an_alert_twice_for_a_chat(tmp_path):
    """Runs of plain messages go in a few statements, thread messages one by one: the ids (the
    order a chat's messages are sent in) follow the order given either way."""
    db = open_db(tmp_path / "bot.db")
    add_chats(db, [1, 2, 3])
    first = queue_alert(db, [1, 2])
    second = queue_alert(db, [], 91_000.0)
    with db.atomic():
        queued = outbox.queue(
            db,
            [
                outbox.Message(3, (first,)),
                outbox.Message(1, (first,)),  # queued for chat 1 already: nothing
                outbox.Message(1, (second,), "chop:BTC:91000", edit=True),
                outbox.Message(2, (second, first)),  # the first is queued already: the second only
                outbox.Message(3, (second,)),
            ],
        )
    assert queued == 4
    rows = db.execute(
        "SELECT d.chat_id, group_concat(da.alert_id) FROM deliveries d JOIN delivery_alerts da ON da.delivery_id = d.id"
        " WHERE d.id > 2 GROUP BY d.id ORDER BY d.id"
    ).fetchall()
    assert rows == [(3, str(first)), (1, str(second)), (2, str(second)), (3, str(second))]
    assert (
        db.execute(
            "SELECT count(*) FROM deliveries WHERE id NOT IN (SELECT delivery_id FROM delivery_alerts)"
        ).fetchone()[0]
        == 0
    )


async def test_a_follow_up_is_sent_as_a_reply_to_the_alert_it_follows_in_each_chat_that_got_it(fake, tmp_path):
    """NVDA, 20 Nov 2025: the report's shock at the open, then the reversal through the previous
    close: the reversal answers the shock's message (Telegram's reply) where the chat has it."""
    from bot.rules.earnings_reversal import EarningsReversal
    from tests.test_render import orcl_shock

    shock = orcl_shock(symbol="NVDA", session=date(2025, 11, 20), report_date=date(2025, 11, 19))
    from bot.rules.session_news import SessionNews

    shared = {f.name: getattr(shock, f.name) for f in fields(SessionNews)}
    reversal = EarningsReversal(**{**shared, "move_pct": -3.15})
    own = replace(shock, threshold_pct=5.0)  # the same report's shock, for a chat that chose /set shock 5
    settings = bot_settings(fake, tmp_path)
    async with running_bot(settings, fake) as bot:
        add_chats(bot.db, [1, 2, 3, 4])
        with bot.db.atomic():
            shock_id = outbox.record_alert(bot.db, shock, datetime.now(UTC))
            outbox.queue(bot.db, [outbox.Message(chat, (shock_id,)) for chat in (1, 2)])  # chat 3 joined later
            own_id = outbox.record_alert(bot.db, own, datetime.now(UTC))
            outbox.queue(bot.db, [outbox.Message(4, (own_id,))])
        await drained(bot)
        with bot.db.atomic():
            reversal_id = outbox.record_alert(bot.db, reversal, datetime.now(UTC))
            outbox.queue(bot.db, [outbox.Message(chat, (reversal_id,)) for chat in (1, 2, 3, 4)])
        await drained(bot)
    for chat in (1, 2, 4):  # chat 4 got its own threshold's shock: the reversal answers that one
        first, follow_up = fake.messages_to(chat)
        assert "reply_parameters" not in first.params
        assert json.loads(follow_up.params["reply_parameters"])["message_id"] == first.message_id
    [alone] = fake.messages_to(3)
    assert "reply_parameters" not in alone.params  # nothing to answer: a message of its own
