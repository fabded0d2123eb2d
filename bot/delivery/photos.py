"""Render once, send many: an alert's chart is drawn once per language and uploaded once; every
other chat gets the same picture by the ``file_id`` Telegram gave the first upload.

Usage (by the sender)::

    photos = Photos(attach)                                  # attach: (alert, language) -> PNG
    photo = await photos.chart(alert_id, alert, "en")        # drawn once, whoever asks
    message = await photos.send(photo, lambda p: bot.send_photo(chat_id, p, caption=text))

Drawing a chart takes 0.25–0.5 s; uploading one ~50 KB. Drawing and uploading it for every chat
capped a chart alert at about 3 messages a second instead of Telegram's 30. Deliveries of the
same alert that start together wait for the one drawing and the one upload, then go out by
``file_id``. A ``file_id`` Telegram no longer accepts is forgotten and the picture uploaded again.
Both caches keep the latest alerts only (charts are for alerts being delivered now).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Message
from telegram.error import BadRequest

from bot.domain import Alert
from bot.logs import redact

log = logging.getLogger(__name__)

Attach = Callable[[Alert, str], Awaitable[bytes | None]]
"""``(alert, language) -> PNG bytes or None``: a chart to send with the alert."""

Key = tuple[int, str]  # (alert id, language)
KEPT = 64  # charts (and file ids) kept: the alerts being delivered now
_REFUSED = ("wrong file identifier", "file reference", "wrong remote file", "failed to get http url content")


@dataclass(frozen=True, slots=True)
class Photo:
    key: Key
    png: bytes


class Photos:
    def __init__(self, attach: Attach, kept: int = KEPT) -> None:
        self._attach = attach
        self._kept = kept
        self._drawn: OrderedDict[Key, asyncio.Future[bytes | None]] = OrderedDict()
        self._file_ids: OrderedDict[Key, str] = OrderedDict()
        self._uploading: dict[Key, asyncio.Lock] = {}

    async def chart(self, alert_id: int, alert: Alert, language: str) -> Photo | None:
        """The alert's chart in ``language``, drawn on the first ask; None if it has none (or
        drawing it failed: logged once, and the alert goes without)."""
        key = (alert_id, language)
        drawing = self._drawn.get(key)
        if drawing is None:
            drawing = self._drawn[key] = asyncio.ensure_future(self._draw(alert_id, alert, language))
            _trim(self._drawn, self._kept)
        else:
            self._drawn.move_to_end(key)
        png = await asyncio.shield(drawing)
        return Photo(key, png) if png else None

    async def _draw(self, alert_id: int, alert: Alert, language: str) -> bytes | None:
        try:
            return await self._attach(alert, language)
        except Exception as exc:  # noqa: BLE001 - a missing chart never holds up the alert
            log.warning("no chart for alert %s: %s", alert_id, redact(repr(exc)))
            return None

    async def send(
        self, photo: Photo, send: Callable[[bytes | str], Awaitable[Message]], *, again: bool = False
    ) -> Message:
        """``send(file_id or PNG)``: by ``file_id`` once one upload went through, else the upload,
        one at a time per chart (the others wait for its ``file_id``)."""
        if (file_id := self._file_ids.get(photo.key)) is None:
            async with self._uploading.setdefault(photo.key, asyncio.Lock()):
                if (file_id := self._file_ids.get(photo.key)) is None:
                    return self._uploaded(photo, await send(photo.png))
        try:
            return await send(file_id)
        except BadRequest as exc:
            if again or not any(why in exc.message.lower() for why in _REFUSED):
                raise
            if self._file_ids.get(photo.key) == file_id:
                log.info("chart of alert %s: Telegram refused its file id (%s); uploading it again", photo.key[0], exc)
                del self._file_ids[photo.key]
            return await self.send(photo, send, again=True)  # one new upload, the others wait for it

    def _uploaded(self, photo: Photo, message: Message) -> Message:
        if message.photo:  # the largest size is the picture as sent
            self._file_ids[photo.key] = message.photo[-1].file_id
            _trim(self._file_ids, self._kept)
        return message


def _trim(kept: OrderedDict[Key, Any], size: int) -> None:
    while len(kept) > size:
        kept.popitem(last=False)
