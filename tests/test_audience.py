"""The audience kept in memory and updated chat by chat is the audience read whole, after any
sequence of commands: subscribing, leaving, blocking, settings, mutes running out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_settings
from bot.engine.audience import AudienceCache
from bot.rules.registry import RULES
from bot.store import chats, open_db, prefs
from tests.helpers import choose

T0 = datetime(2025, 12, 11, 14, 0, tzinfo=UTC)
SETTINGS = load_settings(_env_file=None)
KINDS = ("level_break", "large_move", "earnings_shock", "correlation_spike", "all")
VALUES = {"move": ("4%", "2.5%", "3 sigma"), "corr": ("2.5", "4"), "shock": ("8%",), "charts": ("off", "on")}

chat_ids = st.integers(1, 6)
actions = st.one_of(
    st.tuples(st.just("subscribe"), chat_ids, st.booleans()),
    st.tuples(st.just("block"), chat_ids, st.booleans()),
    st.tuples(st.just("language"), chat_ids, st.sampled_from(("en", "zh"))),
    st.tuples(st.just("set"), chat_ids, st.sampled_from(sorted(VALUES)), st.integers(0, 2)),
    st.tuples(st.just("reset"), chat_ids, st.sampled_from(sorted(VALUES))),
    st.tuples(st.just("mute"), chat_ids, st.sampled_from(KINDS), st.integers(1, 30)),
    st.tuples(st.just("unmute"), chat_ids),
    st.tuples(st.just("wait"), st.integers(1, 20)),
)


def picture(cache: AudienceCache) -> dict[str, object]:
    """What the engine reads of the audience: every chat, and for each rule its groups with who wants what."""
    seen: dict[str, object] = {
        "chats": {
            c.chat_id: (c.language, c.timezone, dict(c.values), c.muted, c.mutes_end) for c in cache.chats.values()
        }
    }
    for rule in RULES:
        seen[rule.NAME] = {
            str(params): {kind.kind: sorted(group.wanted(kind.kind)) for kind in rule.KINDS}
            for params, group in cache.groups(rule).items()
        }
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=1, max_size=25))
def test_updated_chat_by_chat_it_is_the_audience_read_whole(tmp_path_factory, steps):
    db = open_db(tmp_path_factory.mktemp("audience") / "bot.db")
    for chat_id in range(1, 7):
        chats.remember_chat(db, chat_id, "private", now=T0)
        chats.set_subscribed(db, chat_id, chat_id % 2 == 1, now=T0)
    kept = AudienceCache(db, SETTINGS)
    now = T0
    kept.sync(now)
    for step in steps:
        match step:
            case ("subscribe", chat, on):
                chats.set_subscribed(db, chat, on, now=now)
            case ("block", chat, on):
                chats.set_blocked(db, chat, on, now=now)
            case ("language", chat, language):
                chats.set_language(db, chat, language, now=now)
            case ("set", chat, name, i):
                choose(db, chat, name, VALUES[name][i % len(VALUES[name])], now)
            case ("reset", chat, name):
                prefs.set_value(db, chat, name, None, now)
            case ("mute", chat, kind, minutes):
                prefs.set_mute(db, chat, kind, now + timedelta(minutes=minutes))
            case ("unmute", chat):
                prefs.clear_mutes(db, chat)
            case ("wait", minutes):
                now += timedelta(minutes=minutes)
        kept.sync(now)
        fresh = AudienceCache(db, SETTINGS)
        fresh.sync(now)
        assert picture(kept) == picture(fresh), step
    assert kept.loads == 1  # never read whole again


def test_changes_pruned_before_the_cache_saw_them_make_it_read_everything_again(tmp_path):
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 1, "private", now=T0)
    chats.set_subscribed(db, 1, True, now=T0)
    cache = AudienceCache(db, SETTINGS)
    cache.sync(T0)
    choose(db, 1, "move", "4%", T0)
    chats.remember_chat(db, 2, "private", now=T0)
    chats.set_subscribed(db, 2, True, now=T0)
    prefs.prune_audience_changes(db, 10**9)  # another process pruned the log meanwhile
    cache.sync(T0 + timedelta(minutes=1))
    assert cache.loads == 2 and sorted(cache.chats) == [1, 2]
    assert cache.chats[1].values["move"] != cache.chats[2].values["move"]
