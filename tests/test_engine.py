"""The engine over the store: alerts decided once, queued per chat settings, never on stale data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.domain import Bar, Quote
from bot.engine.engine import Engine
from bot.markettime import MarketHours
from bot.rules.level_book import LevelBook
from bot.store import chats, market, open_db
from bot.store.own_levels import add_level
from bot.store.prefs import set_mute
from tests.helpers import choose

T0 = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
HOURS = MarketHours(datetime(2025, 1, 1).date(), datetime(2026, 6, 30).date())


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "bot.db")
    for chat_id in (1, 2, 3):
        chats.remember_chat(database, chat_id, "private", now=T0)
        chats.set_subscribed(database, chat_id, True, now=T0)
    return database


def engine(db, **kwargs):
    return Engine(db, load_settings(equity_watchlist="NVDA,ORCL,QQQ"), HOURS, **kwargs)


def quote(price: float, minutes: float, symbol: str = "BTC") -> Quote:
    t = T0 + timedelta(minutes=minutes)
    return Quote(symbol, price, t, "binance", t)


def feed(eng: Engine, db, *prices: float, start: float = 0):
    decided = []
    for i, price in enumerate(prices):
        q = quote(price, start + i)
        market.insert_quotes(db, [q])
        decided += eng.process(q.ts, quotes=[q])
    return decided


def deliveries(db) -> list[tuple[str, int]]:
    return [
        (key, chat)
        for key, chat in db.execute(
            "SELECT a.key, d.chat_id FROM delivery_alerts d JOIN alerts a ON a.id = d.alert_id ORDER BY a.id, d.chat_id"
        )
    ]


def test_global_level_break_goes_to_every_subscriber_once(db):
    eng = engine(db)
    decided = feed(eng, db, 90_400, 90_100, 89_600, 89_500)
    [d] = decided
    assert (d.alert.kind, d.alert.level, d.alert.direction, d.alert.price) == ("level_break", 90_000, "down", 89_600)
    assert d.chat_ids == (1, 2, 3)
    assert deliveries(db) == [(str(d.alert.key), c) for c in (1, 2, 3)]


def test_a_restart_neither_repeats_nor_forgets(db):
    eng = engine(db)
    feed(eng, db, 90_400, 89_600)
    restarted = engine(db)  # a new process on the same database
    assert feed(restarted, db, 89_500, 89_400, start=2) == []  # still below: nothing new
    # hours later (past the chop window), prices again, then a real crossing up
    [up] = feed(restarted, db, 89_500, 91_000, start=5 * 60)
    assert (up.alert.level, up.alert.direction) == (90_000, "up")
    assert len(deliveries(db)) == 6


def test_the_same_data_processed_twice_is_decided_once(db):
    eng = engine(db)
    q1, q2 = quote(90_400, 0), quote(89_600, 1)
    market.insert_quotes(db, [q1, q2])
    eng.process(q1.ts, quotes=[q1])
    first = eng.process(q2.ts, quotes=[q2])
    again = engine(db).process(q2.ts, quotes=[q2])
    assert len(first) == 1 and again == []


def test_personal_levels_reach_only_their_owner_and_only_their_direction(db):
    add_level(db, 2, "BTC", 95_000, "above", T0)
    add_level(db, 3, "BTC", 95_000, "below", T0)
    eng = engine(db, global_levels={})
    [up] = feed(eng, db, 94_000, 95_500)
    assert up.alert.level == 95_000 and up.chat_ids == (2,)
    [down] = feed(eng, db, 95_400, 94_500, start=5 * 60)
    assert down.chat_ids == (3,)


def test_a_level_added_or_deleted_goes_into_the_index_alone_no_reload(db, monkeypatch):
    """/alert add and del change one level of the index; the book takes that one change (no
    full sync of every level, no reload of the index) and the next price already checks it."""
    eng = engine(db, global_levels={"BTC": (80_000,)})
    feed(eng, db, 94_000)  # the first tick: the book takes every level there is
    monkeypatch.setattr(LevelBook, "sync", lambda *a: pytest.fail("a full sync of the book"))
    monkeypatch.setattr(eng.levels, "load", lambda *a: pytest.fail("a reload of the index"))
    add_level(db, 2, "BTC", 95_000, "above", T0)
    eng.levels.add(2, "BTC", 95_000, "above")
    [up] = feed(eng, db, 95_500, start=1)
    assert (up.alert.level, up.chat_ids) == (95_000, (2,))
    eng.levels.add(3, "BTC", 95_000, "below")  # the same price, another chat: the book has it already
    assert [change[1:] for change in eng.levels.changes("BTC")] == [(95_000.0, True)]
    back = feed(eng, db, 94_500, start=2)  # back within the chop window: a chop, for both owners
    assert {(d.alert.kind, d.chat_ids) for d in back} == {("level_break", (3,)), ("level_chop", (2, 3))}
    eng.levels.remove(2, "BTC", 95_000, "above")
    eng.levels.remove(3, "BTC", 95_000, "below")
    assert feed(eng, db, 95_600, 94_400, start=3) == []  # nobody's level any more
    assert 95_000 not in eng.levels.wanted("BTC")
    assert eng.levels.version_of("ETH").endswith(":0")  # another symbol's book is not touched


def test_muted_chats_get_nothing_and_nothing_is_queued_for_later(db):
    set_mute(db, 2, "level_break", T0 + timedelta(hours=2))
    set_mute(db, 3, "all", T0 + timedelta(hours=2))
    eng = engine(db)
    [d] = feed(eng, db, 90_400, 89_600)
    assert d.chat_ids == (1,)
    assert [chat for _, chat in deliveries(db)] == [1]


def test_the_audience_is_read_once_then_only_the_chats_that_changed(db):
    """No audience query per poll: polls read it from memory; a change of who gets what (a mute,
    a setting, a chat leaving) or a mute running out makes the next poll read that chat again,
    and no other."""
    eng = engine(db)
    feed(eng, db, 90_400, 90_300, 90_200)
    assert (eng.audience.loads, eng.audience.updates) == (1, 0)  # three polls, one read
    chats.remember_chat(db, 1, "private", title="A new name", now=T0)  # names only: nobody's alerts change
    feed(eng, db, 90_100, start=3)
    assert (eng.audience.loads, eng.audience.updates) == (1, 0)

    set_mute(db, 2, "level_break", T0 + timedelta(minutes=10))
    [d] = feed(eng, db, 89_600, start=4)
    assert d.chat_ids == (1, 3) and eng.audience.updates == 1  # the mute is seen at once: chat 2 read again
    feed(eng, db, 89_500, start=5)
    assert eng.audience.updates == 1
    feed(eng, db, 89_400, start=11)  # the mute has run out
    assert eng.audience.updates == 2
    assert [c.chat_id for c in eng.audience.at(T0 + timedelta(minutes=11)) if c.wants("level_break")] == [1, 2, 3]
    choose(db, 3, "move", "4%")
    chats.set_subscribed(db, 1, False, now=T0)
    assert [c.chat_id for c in eng.audience.at(T0 + timedelta(minutes=12))] == [2, 3]
    assert (eng.audience.loads, eng.audience.updates) == (1, 4)
    [moved] = [c for c in eng.audience.chats.values() if c.chat_id == 3]
    assert moved.values["move"] != eng.audience.chats[2].values["move"]  # chat 3's own threshold


def test_unsubscribed_and_blocked_chats_are_left_out(db):
    chats.set_subscribed(db, 2, False, now=T0)
    chats.set_blocked(db, 3, True, now=T0)
    [d] = feed(engine(db), db, 90_400, 89_600)
    assert d.chat_ids == (1,)


def test_stale_data_never_alerts(db):
    fresh = {"BTC": True}
    eng = engine(db, fresh=lambda s: fresh.get(s, True))
    assert feed(eng, db, 90_400) == []
    fresh["BTC"] = False
    assert feed(eng, db, 89_600, 89_000, start=1) == []
    fresh["BTC"] = True
    [d] = feed(eng, db, 88_900, start=10)  # fresh again: the crossing since the last fresh price
    assert (d.alert.direction, d.alert.price) == ("down", 88_900)


def test_large_move_threshold_is_per_chat(db):
    choose(db, 2, "move", "3", T0)
    eng = engine(db, global_levels={})
    feed(eng, db, 100_000)
    decided = feed(eng, db, 104_000, start=60 * 24 + 1)
    assert [(d.alert.kind, d.alert.threshold_pct, d.chat_ids) for d in decided] == [("large_move", 3.0, (2,))]
    decided = feed(eng, db, 106_000, start=60 * 24 + 2)
    assert [(d.alert.threshold_pct, d.chat_ids) for d in decided] == [(5.0, (1, 3))]


def test_a_bar_walks_its_wick_and_old_bars_only_update_state(db):
    eng = engine(db)
    day = datetime(2025, 12, 11, tzinfo=UTC)
    dec10 = Bar("BTC", "1d", day - timedelta(days=1), 92_702.2, 94_489.0, 91_599.0, 92_019.8, 1.0, "replay")
    dec11 = Bar("BTC", "1d", day, 92_019.8, 93_561.8, 89_281.4, 92_541.0, 1.0, "replay")
    market.upsert_bars(db, [dec10, dec11])
    # dec10 arrives a day late: it only settles the state
    assert eng.process(day + timedelta(days=1), bars=[dec10]) == []
    decided = eng.process(day + timedelta(days=1), bars=[dec11])
    got = [(d.alert.level, d.alert.direction, d.alert.held, d.alert.price) for d in decided]
    # In the order the price went (a rising bar: open, low, high, close): down through both
    # levels to the low, back up through both to the close. One daily bar opens no chop.
    assert got == [
        (92_000, "down", False, 89_281.4),
        (90_000, "down", False, 89_281.4),
        (90_000, "up", True, 92_541.0),
        (92_000, "up", True, 92_541.0),
    ]


def messages_of(db, chat_id: int) -> list[list[str]]:
    """The kinds of the alerts of each message queued for a chat, in order."""
    rows = db.execute(
        """
        SELECT da.delivery_id, a.kind FROM delivery_alerts da JOIN alerts a ON a.id = da.alert_id
        WHERE da.chat_id = ? ORDER BY da.delivery_id, da.position
        """,
        [chat_id],
    ).fetchall()
    grouped: dict[int, list[str]] = {}
    for delivery_id, kind in rows:
        grouped.setdefault(delivery_id, []).append(kind)
    return list(grouped.values())


def test_alerts_of_one_moment_go_out_as_one_message_most_important_first(db):
    eng = engine(db)
    choose(db, 1, "move", "1")
    market.upsert_bars(db, [Bar("BTC", "1h", T0 - timedelta(hours=25), 90_500, 90_600, 90_400, 90_500, None, "t")])
    feed(eng, db, 90_500, start=-24 * 60)  # a price a day ago to measure the move from
    feed(eng, db, 90_400, 89_500, start=0)  # −1.1 % in 24 h and through 90,000 at the same tick
    assert messages_of(db, 1)[-1] == ["level_break", "large_move"]
    assert messages_of(db, 2)[-1] == ["level_break"]  # chat 2 keeps the 5 % move threshold
    assert len(messages_of(db, 1)) == len(messages_of(db, 2))


def calm_history(db, symbol: str, until: datetime, price: float = 100.0) -> None:
    """90 daily bars before ``until``'s session whose returns alternate ±1 % (σ about 1 %)."""
    day, bars = until.date(), []
    while len(bars) < 90:
        day -= timedelta(days=1)
        if HOURS.is_trading_day(day):
            close = price * (1.01 if len(bars) % 2 else 1.0)
            ts = datetime(day.year, day.month, day.day, tzinfo=UTC)
            bars.append(Bar(symbol, "1d", ts, close, close, close, close, None, "test"))
    market.upsert_bars(db, reversed(bars))


def test_a_market_wide_move_tells_the_names_it_lists_and_a_name_that_moves_on_is_news_again(db):
    """Live, Thu 11 Dec 2025 (σ of each name about 1 %, every chat at the default 3σ)."""
    eng = engine(db, global_levels={})
    for symbol in ("NVDA", "ORCL", "QQQ"):
        calm_history(db, symbol, T0)
    prior = {s: b.close for s, b in ((s, market.load_bars(db, s, "1d")[-1]) for s in ("NVDA", "ORCL", "QQQ"))}

    def trade(minutes: float, **moves: float):
        quotes = [
            Quote(
                s, prior[s] * (1 + m / 100), T0 + timedelta(minutes=minutes), "yahoo", T0 + timedelta(minutes=minutes)
            )
            for s, m in moves.items()
        ]
        market.insert_quotes(db, quotes)
        return eng.process(quotes[0].ts, quotes=quotes)

    assert trade(31, NVDA=-0.2, ORCL=0.1, QQQ=-0.1) == []  # 14:31 UTC, the open: no gap
    first = trade(60, NVDA=-3.5, ORCL=-1.0, QQQ=-2.5)
    assert [d.alert.kind for d in first] == ["market_move"]  # NVDA's own 3.5σ move is in it
    assert first[0].alert.moves["NVDA"] == pytest.approx(-3.5) and first[0].chat_ids == (1, 2, 3)
    assert trade(90, NVDA=-3.8, ORCL=-1.5, QQQ=-2.6) == []  # told already: NVDA listed at -3.5 %
    [orcl] = trade(120, NVDA=-3.8, ORCL=-4.2, QQQ=-2.6)  # ORCL was listed at -1 %: its fall is news
    assert (orcl.alert.kind, orcl.alert.symbol, orcl.alert.session) == ("large_move", "ORCL", T0.date())
