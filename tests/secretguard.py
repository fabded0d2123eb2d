"""The bot token must never reach a log line or a message: watched over the whole test run.

:func:`install` (called by conftest) puts a handler on the root logger that sees every
record of the run, with the loggers that matter turned up so their records exist at all:
httpx (whose INFO lines carry request URLs, and Bot API URLs carry the token), PTB and the
bot itself. A record leaks if

* it comes from the bot's own code and its message holds the token, even before the
  redacting formatter masks it (the bot must not rely on the mask for what it writes), or
* formatted as the bot formats its log (:class:`bot.logs.RedactingFormatter`), it still
  holds the token (a library line the mask missed).

The fake Bot API adds a leak for every request whose parameters (a message's text, a
caption) hold the token. conftest fails the test during which a leak happened.
"""

from __future__ import annotations

import logging

from bot.logs import RedactingFormatter
from tests.fakes.telegram import TOKEN

SECRETS = (TOKEN, TOKEN.partition(":")[2])
LEAKS: list[str] = []
WATCHED = {"httpx": logging.INFO, "telegram": logging.INFO, "bot": logging.DEBUG}


def holds_secret(text: str) -> bool:
    return any(secret in text for secret in SECRETS)


class _Watch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            raw = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is not ours to judge
            return
        if record.name.split(".")[0] == "bot" and holds_secret(raw):
            LEAKS.append(f"the bot logged the token: {record.name}: {raw[:200]}")
        elif holds_secret(text := self.format(record)):
            LEAKS.append(f"a log line shows the token: {text[:200]}")


def install() -> None:
    for name, level in WATCHED.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
    logging.getLogger().addHandler(_Watch())
