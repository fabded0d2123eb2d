"""Logging setup that never lets a secret out.

httpx logs every request URL at INFO, and Bot API URLs contain the token, so
httpx is turned down to WARNING; on top of that every formatted record (and
traceback) passes through :func:`redact`, which masks registered secrets.
"""

from __future__ import annotations

import logging
import sys
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


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "ccxt", "yfinance", "urllib3", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
