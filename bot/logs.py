"""Logging setup that never lets a secret out.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so
httpx is turned down to WARNING; on top of that every formatted record (and
traceback) passes through :func:`redact`, which masks registered secrets.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

_SECRETS: set[str] = set()
MASK = "***"


def register_secret(secret: str | None) -> None:
    if secret and len(secret) >= 6:
        _SECRETS.add(secret)
        # The numeric bot id before ':' is public; the part after it is not.
        _, _, tail = secret.partition(":")
        if len(tail) >= 6:
            _SECRETS.add(tail)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors: ``{"time", "level", "logger", "message"}`` and
    ``"exception"`` when there is one; secrets masked like every other line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False))


def setup_logging(level: str = "INFO", stream: TextIO | None = None, *, json_lines: bool = False) -> None:
    """Log to ``stream`` (stderr) at ``level``, as text or (``json_lines``) one JSON object a line."""
    handler = logging.StreamHandler(stream or sys.stderr)
    text = RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if json_lines else text)
    handler.setLevel(level)  # what reaches the output is LOG_LEVEL and up, whatever a logger is set to
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "ccxt", "yfinance", "urllib3", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
