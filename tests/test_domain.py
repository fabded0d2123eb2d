"""Alerts as the outbox stores them: every kind comes back from its stored payload equal, float for float."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import AlertKey, encode_alert
from bot.rules.levels import LevelBreak
from bot.rules.registry import ALERT_TYPES, decode_alert
from bot.store import chats, open_db, outbox
from bot.store.due import due_deliveries

FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=8, minutes=30))])
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES)


def strategy_for(annotation: str) -> st.SearchStrategy[object]:
    """Values for a field from its annotation (the dataclasses use ``from __future__ import annotations``)."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None").strip()
    values: st.SearchStrategy[object] = {
        "str": TEXT,
        "float": FLOATS,
        "int": st.integers(-(10**6), 10**6),
        "bool": st.booleans(),
        "UtcTime": TIMES,
        "date": st.dates(date(2000, 1, 1), date(2100, 1, 1)),
        "Direction": st.sampled_from(["up", "down"]),
        "Side": st.sampled_from(["above", "below"]),
        "Literal['threshold', 'jump']": st.sampled_from(["threshold", "jump"]),
        "dict[str, float]": st.dictionaries(TEXT, FLOATS, max_size=4),
        "dict[str, float | None]": st.dictionaries(TEXT, st.none() | FLOATS, max_size=4),
        "tuple[str, ...]": st.lists(TEXT, max_size=4).map(tuple),
        "tuple[UtcTime, UtcTime]": st.tuples(TIMES, TIMES),
    }[base]
    return st.none() | values if optional else values


def alerts(cls: type) -> st.SearchStrategy[object]:
    fields = {f.name: strategy_for(str(f.type)) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda values: cls(**values))


@pytest.mark.parametrize("cls", ALERT_TYPES, ids=lambda c: c.kind)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_kind_round_trips_exactly(cls, data):
    alert = data.draw(alerts(cls))
    back = decode_alert(cls.kind, encode_alert(alert))
    assert back == alert
    assert type(back) is cls
    assert back.key == alert.key
    for name in ("time", "bar_start", "reference_time"):
        value = getattr(back, name, None)
        if value is not None:
            assert value.tzinfo is UTC  # stored times come back in UTC, the same instant


def test_an_alert_from_the_outbox_is_the_one_decided():
    db = open_db(":memory:")
    chats.remember_chat(db, 7, "private")
    alert = LevelBreak("BTC", datetime(2025, 12, 11, 21, tzinfo=UTC), 90_000.0, "down", 89_281.4, 89_000.1, 0.1 + 0.2)
    alert_id = outbox.record_alert(db, alert, alert.time)
    assert alert_id is not None
    outbox.queue(db, [outbox.Message(7, (alert_id,))])
    [pending] = due_deliveries(db, alert.time)
    [(kind, payload)] = pending.alerts
    back = decode_alert(kind, payload)
    assert back == alert and back.through_pct == 0.30000000000000004
    assert outbox.record_alert(db, alert, alert.time) is None  # the same fact is decided once
    assert outbox.queue(db, [outbox.Message(7, (alert_id,))]) == 0  # and reaches a chat once


def test_keys_read_back_from_their_text():
    key = AlertKey("level_break", "BTC", "90000", "down", "2025-12-11T21:00")
    assert AlertKey.parse(str(key)) == key


@pytest.mark.parametrize("payload", ["{}", '{"symbol": "BTC"}', "not json"])
def test_a_payload_that_is_not_an_alert_is_refused(payload):
    with pytest.raises(ValueError):
        decode_alert("level_break", payload)
    with pytest.raises(ValueError, match="unknown alert kind"):
        decode_alert("moon_landing", '{"symbol": "BTC"}')
