"""A heartbeat file the running bot touches, so a container healthcheck can tell it is alive.

The file sits next to the database (``bot.db`` → ``bot.db.heartbeat``) and holds
the UTC time of the last beat. ``python -m bot healthcheck`` reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

INTERVAL = timedelta(seconds=30)
MAX_AGE = timedelta(seconds=120)


def heartbeat_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".heartbeat")


def beat(path: Path, now: datetime) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(now.astimezone(UTC).isoformat())
    tmp.replace(path)


def check(path: Path, now: datetime, max_age: timedelta = MAX_AGE) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    try:
        last = datetime.fromisoformat(path.read_text().strip())
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: is the bot running?"
    except ValueError:
        return False, f"unreadable heartbeat at {path}"
    age = now - last
    if age > max_age:
        return False, f"last heartbeat {int(age.total_seconds())} s ago (limit {int(max_age.total_seconds())} s)"
    return True, f"alive, last heartbeat {max(0, int(age.total_seconds()))} s ago"
