"""The SQLite store: pragmas, migrations that never lose rows, chat bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.store import chats, open_db
from bot.store.db import connect
from bot.store.migrations import MIGRATIONS

T0 = datetime(2025, 12, 11, 14, 30, tzinfo=UTC)


def test_new_database_uses_wal_and_foreign_keys(tmp_path):
    db = open_db(tmp_path / "sub" / "bot.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert not MIGRATIONS.pending(db)


def test_reopening_applies_nothing_twice(tmp_path):
    open_db(tmp_path / "bot.db").close()
    db = open_db(tmp_path / "bot.db")
    names = [m.name for m in MIGRATIONS.applied(db)]
    assert len(names) == len(set(names)) == len(MIGRATIONS._migrations)


def _older_database(path, before: str):
    db = connect(path)
    MIGRATIONS.apply(db, stop_before=before)
    return db


@pytest.mark.parametrize("migration", [m.name for m in MIGRATIONS._migrations[1:]])
def test_upgrade_from_older_schema_keeps_every_chat(tmp_path, migration):
    db = _older_database(tmp_path / "old.db", migration)
    for i in range(50):
        db["chats"].insert(
            {
                "id": 1000 + i,
                "type": "private" if i % 2 else "supergroup",
                "title": None if i % 2 else f"group {i}",
                "username": f"user{i}",
                "subscribed": i % 3 == 0,
                "blocked": i % 7 == 0,
                "created_at": "2025-11-01T00:00:00+00:00",
                "updated_at": "2025-11-02T00:00:00+00:00",
            }
        )
    before = list(db.query("SELECT id, type, title, username, subscribed, blocked FROM chats ORDER BY id"))
    db.close()

    upgraded = open_db(tmp_path / "old.db")
    after = list(upgraded.query("SELECT id, type, title, username, subscribed, blocked FROM chats ORDER BY id"))
    assert after == before
    assert not MIGRATIONS.pending(upgraded)
    chat = chats.get_chat(upgraded, 1000)
    assert chat.language == "en" and chat.timezone == "UTC"


def test_remember_chat_keeps_language_chosen_first(tmp_path):
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 7, "private", username="li", language="zh", now=T0)
    chat = chats.remember_chat(db, 7, "private", username="li2", language="en", now=T0)
    assert chat.language == "zh" and chat.username == "li2"


def test_subscribe_unblocks_and_counts(tmp_path):
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 1, "private", now=T0)
    chats.remember_chat(db, 2, "group", title="G", now=T0)
    assert chats.set_subscribed(db, 1, True, now=T0)
    assert not chats.set_subscribed(db, 1, True, now=T0)
    assert chats.set_subscribed(db, 2, True, now=T0)
    assert chats.set_blocked(db, 2, True, now=T0)
    assert chats.subscriber_count(db) == 1 and chats.subscribed_chat_ids(db) == [1]
    chats.set_subscribed(db, 2, True, now=T0)  # /start again after unblocking
    assert chats.subscribed_chat_ids(db) == [1, 2]


def test_deleting_a_chat_removes_its_settings(tmp_path):
    db = open_db(tmp_path / "bot.db")
    chats.remember_chat(db, 1, "private", now=T0)
    db["chat_levels"].insert({"chat_id": 1, "symbol": "BTC", "price": 90000, "direction": "below", "created_at": "x"})
    db.execute("DELETE FROM chats WHERE id = 1")
    assert db["chat_levels"].count == 0
