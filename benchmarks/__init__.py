"""Benchmarks: `python -m benchmarks` (timings live here, never in the test suite)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet(**levels: int) -> Iterator[None]:
    """Loggers (``bot_delivery=logging.ERROR`` for ``bot.delivery``) at these levels while a
    benchmark runs, and back as they were after (a test that runs one must not silence others)."""
    loggers = {name.replace("_", "."): logging.getLogger(name.replace("_", ".")) for name in levels}
    before = {name: logger.level for name, logger in loggers.items()}
    try:
        for name, level in levels.items():
            loggers[name.replace("_", ".")].setLevel(level)
        yield
    finally:
        for name, level in before.items():
            loggers[name].setLevel(level)
