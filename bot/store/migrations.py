"""Schema changes, registered once and applied in order (sqlite-utils ``Migrations``).

Never edit a migration that has shipped: add a new one. Each runs in a transaction
with the record of it having run, so a failed upgrade leaves the old schema intact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("alertbot")


@MIGRATIONS()
def m001_chats(db: Database) -> None:
    """Chats that talked to the bot, and whether they want alerts."""
    db.execute(
        """
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            title TEXT,
            username TEXT,
            subscribed INTEGER NOT NULL DEFAULT 0,
            blocked INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


@MIGRATIONS()
def m002_chat_locale_and_settings(db: Database) -> None:
    """Language and timezone per chat; per-chat thresholds, levels, mutes and watchlist."""
    db.execute("ALTER TABLE chats ADD COLUMN language TEXT NOT NULL DEFAULT 'en'")
    db.execute("ALTER TABLE chats ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC'")
    db.execute("CREATE INDEX idx_chats_subscribed ON chats(subscribed, blocked)")
    # NULL in a threshold column means "use the bot's default".
    db.execute(
        """
        CREATE TABLE chat_settings (
            chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
            corr_threshold REAL,
            corr_jump REAL,
            shock_pct REAL,
            move_pct REAL,
            charts INTEGER NOT NULL DEFAULT 1,
            heads_up INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE chat_levels (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            symbol TEXT NOT NULL,
            price REAL NOT NULL CHECK (price > 0),
            direction TEXT NOT NULL CHECK (direction IN ('above', 'below')),
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_chat_levels_symbol_price ON chat_levels(symbol, price)")
    db.execute("CREATE INDEX idx_chat_levels_chat ON chat_levels(chat_id)")
    db.execute(
        """
        CREATE TABLE chat_mutes (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            until TEXT NOT NULL,
            PRIMARY KEY (chat_id, kind)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE chat_watchlist (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            symbol TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, symbol)
        )
        """
    )


@MIGRATIONS()
def m003_market_data(db: Database) -> None:
    """Price history (bars, quotes) and earnings dates."""
    db.execute(
        """
        CREATE TABLE bars (
            symbol TEXT NOT NULL,
            interval TEXT NOT NULL,
            ts TEXT NOT NULL,
            open REAL NOT NULL,
            high REAL NOT NULL,
            low REAL NOT NULL,
            close REAL NOT NULL,
            volume REAL,
            source TEXT NOT NULL,
            PRIMARY KEY (symbol, interval, ts)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE quotes (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            price REAL NOT NULL CHECK (price > 0),
            ts TEXT NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            change_24h_pct REAL
        )
        """
    )
    db.execute("CREATE INDEX idx_quotes_symbol_fetched ON quotes(symbol, fetched_at)")
    db.execute(
        """
        CREATE TABLE earnings (
            symbol TEXT NOT NULL,
            report_date TEXT NOT NULL,
            timing TEXT NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (symbol, report_date)
        )
        """
    )


@MIGRATIONS()
def m004_alerts_outbox_and_rule_state(db: Database) -> None:
    """Decided alerts (once each, by key), the outbox of (alert, chat) deliveries, rule state."""
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            symbol TEXT NOT NULL,
            time TEXT NOT NULL,
            payload TEXT NOT NULL,
            decided_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_alerts_time ON alerts(time)")
    db.execute(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            message_id INTEGER,
            UNIQUE (alert_id, chat_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_deliveries_pending ON deliveries(status, next_attempt_at)")
    db.execute(
        """
        CREATE TABLE rule_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


@MIGRATIONS()
def m005_delivery_progress(db: Database) -> None:
    """How many messages of a delivery Telegram accepted (text parts, chart photo), so a
    retry or a restart sends only the rest."""
    db.execute("ALTER TABLE deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m006_typed_alert_and_state_keys(db: Database) -> None:
    """Alert keys and rule-state keys as columns, so nothing is looked up by a prefix of a string.

    An alert key was ``kind:symbol:param:direction:period``; a rule-state key
    ``rule:symbol[:param]``. Both are split into columns for the rows already stored.
    """
    for column in ("param", "direction", "period"):
        db.execute(f"ALTER TABLE alerts ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    rows = db.execute("SELECT id, key FROM alerts").fetchall()
    db.conn.executemany(
        "UPDATE alerts SET param = ?, direction = ?, period = ? WHERE id = ?",
        [(*key.split(":", 4)[2:], alert_id) for alert_id, key in rows if key.count(":") >= 4],
    )
    db.execute("CREATE UNIQUE INDEX idx_alerts_identity ON alerts(kind, symbol, param, direction, period)")
    db.execute("CREATE INDEX idx_alerts_latest ON alerts(kind, symbol, param, id)")
    db.execute(
        """
        CREATE TABLE rule_states (
            rule TEXT NOT NULL,
            symbol TEXT NOT NULL,
            param TEXT NOT NULL DEFAULT '',
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (rule, symbol, param)
        ) WITHOUT ROWID
        """
    )
    rows = db.execute("SELECT key, value, updated_at FROM rule_state").fetchall()
    states = []
    for key, value, updated_at in rows:
        rule, _, rest = key.partition(":")
        symbol, _, param = rest.partition(":")
        states.append((rule, symbol, param, value, updated_at))
    db.conn.executemany("INSERT OR REPLACE INTO rule_states VALUES (?, ?, ?, ?, ?)", states)
    db.execute("DROP TABLE rule_state")


@MIGRATIONS()
def m007_settings_by_name_and_rule_states_by_rule(db: Database) -> None:
    """Per-chat settings by name with JSON values (the rules declare them); rule states under
    the names of the rules that keep them."""
    db.execute(
        """
        CREATE TABLE chat_values (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, name)
        ) WITHOUT ROWID
        """
    )
    columns: dict[str, tuple[str, Callable[[Any], str]]] = {
        "corr_threshold": ("corr", json.dumps),
        "corr_jump": ("jump", json.dumps),
        "shock_pct": ("shock", lambda v: json.dumps({"value": v, "unit": "%"})),
        "move_pct": ("move", lambda v: json.dumps({"value": v, "unit": "%"})),
        "charts": ("charts", lambda v: json.dumps(bool(v))),
        "heads_up": ("heads-up", lambda v: json.dumps(bool(v))),
    }
    query = f"SELECT chat_id, updated_at, {', '.join(columns)} FROM chat_settings"
    for chat_id, updated_at, *values in db.execute(query).fetchall():
        for (column, (name, encode)), value in zip(columns.items(), values, strict=True):
            if value is None or (column in ("charts", "heads_up") and value):
                continue  # NULL (and a switch left on) is the default
            db.execute(
                "INSERT INTO chat_values (chat_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                [chat_id, name, encode(value), updated_at],
            )
    db.execute("DROP TABLE chat_settings")
    states = db.execute("SELECT rule, symbol, param, value, updated_at FROM rule_states").fetchall()
    db.execute("DELETE FROM rule_states")
    covers = {symbol: json.loads(value).get("until") for rule, symbol, _, value, _ in states if rule == "cover"}
    for rule, symbol, param, value, updated_at in states:
        if rule == "levels":
            book = json.loads(value)
            sides = {str(float(level)): side for level, side in book.get("sides", {}).items()}
            value = json.dumps(
                {
                    "book": {
                        "symbol": book.get("symbol", symbol), "band": 0.0025, "cooldown": "PT30M",
                        "prices": sorted(float(level) for level in sides), "sides": sides,
                        "last_alert": book.get("last_alert", {}), "last_price": book.get("last_price"),
                    },
                    "cover": covers.get(symbol),
                    "synced": "",
                }
            )  # fmt: skip
            rule = "level_break"
        elif rule == "move":
            rule, param = "large_move", f"{param}%"
        elif rule == "corr":
            rule = "correlation"
        else:
            continue  # "cover" is folded into level_break
        db.execute("INSERT INTO rule_states VALUES (?, ?, ?, ?, ?)", [rule, symbol, param, value, updated_at])


@MIGRATIONS()
def m008_messages_with_several_alerts(db: Database) -> None:
    """A delivery is one message to one chat, carrying one or more alerts (those decided at the
    same moment go out together), or an edit of an earlier message (``edit_of``, a thread that
    is updated in place). Each alert still reaches a chat once: (alert, chat) stays unique."""
    db.execute(
        """
        CREATE TABLE deliveries_new (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            message_id INTEGER,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            thread TEXT,
            edit_of INTEGER REFERENCES deliveries_new(id) ON DELETE SET NULL
        )
        """
    )
    db.execute(
        """
        INSERT INTO deliveries_new (id, chat_id, status, attempts, next_attempt_at, last_error, sent_at,
                                    message_id, parts_sent)
        SELECT id, chat_id, status, attempts, next_attempt_at, last_error, sent_at, message_id, parts_sent
        FROM deliveries
        """
    )
    db.execute(
        """
        CREATE TABLE delivery_alerts (
            delivery_id INTEGER NOT NULL REFERENCES deliveries_new(id) ON DELETE CASCADE,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (delivery_id, alert_id),
            UNIQUE (alert_id, chat_id)
        )
        """
    )
    db.execute(
        "INSERT INTO delivery_alerts (delivery_id, alert_id, chat_id) SELECT id, alert_id, chat_id FROM deliveries"
    )
    db.execute("DROP TABLE deliveries")
    db.execute("ALTER TABLE deliveries_new RENAME TO deliveries")
    db.execute("CREATE INDEX idx_deliveries_pending ON deliveries(status, next_attempt_at)")
    db.execute("CREATE INDEX idx_deliveries_thread ON deliveries(chat_id, thread)")
    db.execute("CREATE INDEX idx_delivery_alerts_alert ON delivery_alerts(alert_id)")


@MIGRATIONS()
def m009_delivery_unreachable_since(db: Database) -> None:
    """When a delivery first failed because Telegram could not be reached, so the message that
    finally goes out can say how late it is and why."""
    db.execute("ALTER TABLE deliveries ADD COLUMN unreachable_since TEXT")


@MIGRATIONS()
def m010_expired_alert_summaries(db: Database) -> None:
    """A delivery that sums up, in one message, the alerts of a chat that grew too old to be sent
    one by one (``summary = 1``); the deliveries it replaces are dropped."""
    db.execute("ALTER TABLE deliveries ADD COLUMN summary INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m011_audience_version(db: Database) -> None:
    """A number that changes whenever who gets alerts, or with which settings, may have changed
    (a chat subscribed, blocked, its language, zone, settings or mutes), so the engine keeps the
    audience in memory and reads it again only then, not at every poll."""
    db.execute("CREATE TABLE audience_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")
    db.execute("INSERT INTO audience_version (id, version) VALUES (1, 0)")
    bump = "BEGIN UPDATE audience_version SET version = version + 1 WHERE id = 1; END"
    for table, events in _AUDIENCE_TABLES.items():
        for i, event in enumerate(events):
            db.execute(f"CREATE TRIGGER audience_{table}_{i} AFTER {event} ON {table} {bump}")


@MIGRATIONS()
def m012_fanouts(db: Database) -> None:
    """Alerts decided for many chats, waiting to be queued a chunk of chats at a time (one row per
    decision, its chats a sorted array of ids; ``done``: how many of them are queued), so that a
    crossing for 100,000 chats never holds the bot for the time of 100,000 inserts. The index of
    ``delivery_alerts`` on ``alert_id`` goes: its unique (alert_id, chat_id) index serves the same
    lookups, and each queued delivery paid for both."""
    db.execute(
        """
        CREATE TABLE fanouts (
            id INTEGER PRIMARY KEY,
            chats BLOB NOT NULL,
            done INTEGER NOT NULL DEFAULT 0,
            decided_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE fanout_alerts (
            fanout_id INTEGER NOT NULL REFERENCES fanouts(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            thread TEXT,
            chats BLOB NOT NULL,
            PRIMARY KEY (fanout_id, position)
        )
        """
    )
    db.execute("CREATE INDEX idx_fanout_alerts_alert ON fanout_alerts(alert_id)")
    db.execute("DROP INDEX idx_delivery_alerts_alert")


@MIGRATIONS()
def m013_audience_changes(db: Database) -> None:
    """Which chats' part of the audience changed (subscribed, blocked, language, zone, settings,
    mutes), in order, so the engine reads those chats again and no others (m011's one number
    said only that something changed: 100,000 chats read again for one /mute)."""
    for table, events in _AUDIENCE_TABLES.items():
        for i in range(len(events)):
            db.execute(f"DROP TRIGGER audience_{table}_{i}")
    db.execute("DROP TABLE audience_version")
    db.execute("CREATE TABLE audience_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL)")
    for table, events in _AUDIENCE_TABLES.items():
        chat = "id" if table == "chats" else "chat_id"
        for i, event in enumerate(events):
            row = "OLD" if event == "DELETE" else "NEW"
            db.execute(
                f"CREATE TRIGGER audience_{table}_{i} AFTER {event} ON {table} "
                f"BEGIN INSERT INTO audience_changes (chat_id) VALUES ({row}.{chat}); END"
            )


_AUDIENCE_TABLES = {
    "chats": ("INSERT", "DELETE", "UPDATE OF subscribed, blocked, language, timezone"),
    "chat_values": ("INSERT", "DELETE", "UPDATE"),
    "chat_mutes": ("INSERT", "DELETE", "UPDATE"),
}


@MIGRATIONS()
def m014_managed_channels(db: Database) -> None:
    """In a private chat, the channel its settings commands act on (chosen with /channel by an
    admin of the channel); NULL: the chat itself."""
    db.execute("ALTER TABLE chats ADD COLUMN managing INTEGER REFERENCES chats(id) ON DELETE SET NULL")


@MIGRATIONS()
def m015_alert_follow_ups(db: Database) -> None:
    """The earlier alert an alert follows up (an earnings reversal, the shock of the same report):
    its message is sent as a reply to that one's, in each chat that got it."""
    db.execute("ALTER TABLE alerts ADD COLUMN follows INTEGER REFERENCES alerts(id) ON DELETE SET NULL")


@MIGRATIONS()
def m016_quote_markets(db: Database) -> None:
    """The venue's instrument a quote was priced on (BTC/USDT on Binance is not BTC/USD): alerts
    name it."""
    db.execute("ALTER TABLE quotes ADD COLUMN market TEXT")


@MIGRATIONS()
def m017_personal_alert_modes(db: Database) -> None:
    """A chat's own level fires once (then waits for a re-arm) or at every crossing, and may expire.
    Levels set before this fired at every crossing and keep doing so."""
    db.execute(
        "ALTER TABLE chat_levels ADD COLUMN mode TEXT NOT NULL DEFAULT 'every' CHECK (mode IN ('once', 'every'))"
    )
    db.execute("ALTER TABLE chat_levels ADD COLUMN expires_in REAL CHECK (expires_in > 0)")  # seconds after arming
    db.execute("ALTER TABLE chat_levels ADD COLUMN expires_at TEXT")
    db.execute("ALTER TABLE chat_levels ADD COLUMN ended TEXT CHECK (ended IN ('fired', 'expired'))")
    db.execute("ALTER TABLE chat_levels ADD COLUMN ended_at TEXT")
