"""A wick that only a bar shows: live mode (30-second quotes, then the hour's bar) tells what
replay (the bar alone) tells, and never tells again what the quotes already crossed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import Bar
from bot.engine.engine import Decided, Engine
from bot.store import chats, market, open_db
from bot.store.own_levels import add_level
from tests.test_engine import T0, engine, quote

HOUR = Bar("BTC", "1h", T0, 90_350, 90_420, 89_400, 90_350, None, "binance")  # a dip to 89,400 inside the hour
FLAT = [90_300 + (i % 3) * 50 for i in range(120)]  # every 30 s, 90,300–90,400: the dip falls between two
DIPPED = [90_350] * 10 + [89_600] + [90_350] * 109  # one quote saw part of the dip: 89,600


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "bot.db")
    for chat_id in (1, 2):
        chats.remember_chat(database, chat_id, "private", now=T0)
        chats.set_subscribed(database, chat_id, True, now=T0)
    add_level(database, 2, "BTC", 89_800, "below", T0)  # chat 2's own level, between 89,600 and 89,400
    return database


def told(decided: list[Decided]) -> list[tuple[str, float, str | None, tuple[int, ...]]]:
    return [(d.alert.kind, d.alert.level, getattr(d.alert, "direction", None), d.chat_ids) for d in decided]


def quotes(eng: Engine, db, prices: list[float]) -> list[Decided]:
    decided = []
    for i, price in enumerate([90_350, *prices]):  # the first a minute before the hour
        q = quote(price, -1 + i * 0.5)
        market.insert_quotes(db, [q])
        decided += eng.process(q.ts, quotes=[q])
    return decided


def the_bar(eng: Engine, db) -> list[Decided]:
    market.upsert_bars(db, [HOUR])
    return eng.process(T0 + timedelta(hours=1, minutes=1), bars=[HOUR])


def test_a_dip_between_two_quotes_is_told_when_the_hours_bar_shows_it_as_replay_tells_it(db, tmp_path):
    live = engine(db)
    assert quotes(live, db, FLAT) == []  # the quotes never left 90,300–90,400
    seen_live = told(the_bar(live, db))

    replay_db = open_db(tmp_path / "replay.db")
    for chat_id in (1, 2):
        chats.remember_chat(replay_db, chat_id, "private", now=T0)
        chats.set_subscribed(replay_db, chat_id, True, now=T0)
    add_level(replay_db, 2, "BTC", 89_800, "below", T0)
    replayed = engine(replay_db)
    quotes(replayed, replay_db, [])  # the price before the hour, then the bar alone
    seen_replay = told(the_bar(replayed, replay_db))

    assert seen_live == seen_replay
    assert ("level_break", 90_000.0, "down", (1, 2)) in seen_live
    assert ("level_break", 89_800.0, "down", (2,)) in seen_live


def test_what_the_quotes_crossed_is_not_told_again_and_what_only_the_wick_reached_is(db):
    eng = engine(db)
    during = told(quotes(eng, db, DIPPED))
    assert ("level_break", 90_000.0, "down", (1, 2)) in during  # 89,600 broke 90,000, not chat 2's 89,800
    assert not any(level == 89_800 for _, level, _, _ in during)
    after = told(the_bar(eng, db))
    assert ("level_break", 89_800.0, "down", (2,)) in after  # 89,400: only the wick reached 89,800
    assert {(level, chat_ids) for _, level, _, chat_ids in after} == {(89_800.0, (2,))}  # nothing of 90,000


def test_after_a_restart_a_bar_whose_span_was_walked_before_it_is_not_walked_again(db):
    """The walked prices are kept in memory: a new process does not know what the last one saw
    of the hour, so it neither guesses a wick nor tells 90,000 a second time."""
    quotes(engine(db), db, DIPPED)
    assert the_bar(engine(db), db) == []
