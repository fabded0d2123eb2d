"""What one delivery says: its alerts rendered for the chat as the messages to send (no I/O but
the chart, drawn or taken from the cache).

A delivery is text parts, or a photo with the text as its caption, or (text too long for a
caption) the text parts followed by the photo; an update of a thread's message is one edit;
a list of alerts that expired before they could go out is text only. A message Telegram held
up (``LATE`` or more) says so. A level break of a level the chat set itself says so under its
headline ("🔔 Your alert #3"), with how it fires. The last message of a delivery carries the
alert's buttons (:mod:`bot.delivery.keyboards`); an edit keeps them. A message sent in the chat's
quiet hours, or of kinds it hears silently, goes without a notification (:mod:`bot.quiet`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup

from bot.delivery.keyboards import alert_keyboard
from bot.delivery.photos import Photo, Photos
from bot.domain import Alert
from bot.formatting import fmt_time
from bot.i18n import t
from bot.quiet import DEFAULT_SILENT, is_silent
from bot.render import MESSAGE_LIMIT, caption, render_expired, render_message, split_message
from bot.rules.levels import LevelBreak
from bot.rules.registry import MUTE_GROUPS, decode_alert
from bot.store.due import Pending
from bot.store.own_levels import Level

Owned = Callable[[int, str, float, str], Level | None]
"""The chat's own level at (chat, symbol, price, above|below), if it set one."""

LATE = timedelta(minutes=2)  # a message held up by Telegram this long says so


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a delivery: text, or a photo with an optional caption."""

    text: str | None
    photo: Photo | None = None
    edit: int | None = None  # the id of the message this part replaces in place
    reply_to: int | None = None  # the id of the message this one answers (a follow-up's first part)
    keyboard: InlineKeyboardMarkup | None = None  # the buttons under it
    silent: bool = False  # sent without a notification (quiet hours, a silent kind)


async def compose(
    item: Pending,
    photos: Photos | None,
    now: datetime,
    max_age: timedelta,
    owned: Owned | None = None,
    bot_username: str | None = None,
) -> list[Part]:
    """The messages of ``item`` for its chat (see the module's docstring)."""
    alerts = [decode_alert(kind, payload) for kind, payload in item.alerts]
    choices = item.silent if item.silent is not None else DEFAULT_SILENT
    silent = is_silent([kind for kind, _ in item.alerts], now, item.timezone, item.quiet, choices, MUTE_GROUPS)
    if item.summary:
        text = render_expired(
            alerts, item.language, item.timezone, max_age=max_age, unreachable_since=item.unreachable_since
        )
        return [Part(t, silent=silent) for t in split_message(text)]
    mine = yours(item.chat_id, alerts, owned) if owned is not None else {}
    notes = {i: t(item.language, f"alert.yours_{level.mode}", id=level.id) for i, level in mine.items()}
    text = render_message(alerts, item.language, item.timezone, notes)
    if item.unreachable_since is not None and now - item.unreachable_since >= LATE:  # the reader should know why
        text += "\n" + delayed_note(item.unreachable_since, now, item.language, item.timezone)
    # A group's or channel's reader sets their own alerts in a private chat: a link opens it.
    link = f"https://t.me/{bot_username}?start=alerts" if bot_username and item.chat_id < 0 else None
    keyboard = alert_keyboard(alerts, item.alert_ids, item.language, next(iter(mine.values()), None), link)
    if item.edit_message_id is not None:  # an update of a thread's message, in place
        return [Part(caption(text, MESSAGE_LIMIT), edit=item.edit_message_id, keyboard=keyboard)]
    texts = [Part(t, reply_to=item.reply_to if i == 0 else None) for i, t in enumerate(split_message(text))]
    photo = None
    if photos is not None and item.charts:
        for alert_id, alert in zip(item.alert_ids, alerts, strict=True):
            if (photo := await photos.chart(alert_id, alert, item.language)) is not None:
                break
    if photo is None:
        parts = texts
    elif caption(text) == text:
        parts = [Part(text, photo, reply_to=item.reply_to)]
    else:
        parts = [*texts, Part(None, photo)]
    parts = [replace(part, silent=silent) for part in parts]
    return [*parts[:-1], replace(parts[-1], keyboard=keyboard)]


def yours(chat_id: int, alerts: Sequence[Alert], owned: Owned) -> dict[int, Level]:
    """The chat's own level of each level break it set itself, by the alert's index."""
    mine = {}
    for index, alert in enumerate(alerts):
        if isinstance(alert, LevelBreak):
            direction = "above" if alert.direction == "up" else "below"
            if (level := owned(chat_id, alert.symbol, alert.level, direction)) is not None:
                mine[index] = level
    return mine


def delayed_note(since: datetime, until: datetime, lang: str, tz: str) -> str:
    """``⏳ Delayed: Telegram was unreachable from … to …``, in the chat's language and zone."""
    return f"<i>{t(lang, 'delivery.delayed', since=fmt_time(since, tz, lang), until=fmt_time(until, tz, lang))}</i>"
