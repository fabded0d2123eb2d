"""What the live bot checks before it serves, so a problem stops it with one line and exit 2.

* :func:`check_database`: the database path is usable and writable, the file is a SQLite
  database that passes ``PRAGMA quick_check`` (a corrupt file is named, never migrated);
* :func:`single_instance`: one bot per database. A second instance would send every alert
  twice, so it refuses to start. The lock is an ``flock`` on ``<database>.lock``: the
  kernel releases it when the process ends, however it ends (``kill -9`` included), so a
  crash never leaves a stale lock behind.

Each raises :class:`StartupError`, whose text is the whole message (it never holds the token).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path


class StartupError(Exception):
    """The bot cannot start; the text says why in one line."""


def check_database(path: Path) -> None:
    """Refuse a database path the bot cannot use, or a file that is not a sound SQLite database."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"DATABASE_PATH {path}: cannot create its folder ({exc.strerror})") from None
    if path.is_dir():
        raise StartupError(f"DATABASE_PATH {path} is a folder, not a file")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StartupError(f"DATABASE_PATH {path} is read-only: the bot must write its outbox there")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StartupError(f"DATABASE_PATH {path} is not a usable SQLite database ({exc})") from None
    if verdict != "ok":
        raise StartupError(f"DATABASE_PATH {path} is corrupt (quick_check: {verdict}); restore a backup")


@contextlib.contextmanager
def single_instance(database: Path) -> Iterator[None]:
    """Hold the database's lock while the bot runs; :class:`StartupError` if another process has it."""
    lock_path = database.with_name(database.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
    except OSError as exc:
        raise StartupError(f"cannot lock {lock_path} ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StartupError(
                f"another bot is already running on {database} (pid {holder}): stop it first, "
                "or give this one its own DATABASE_PATH"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
