"""The buttons under an alert, and what their presses carry (pure: no I/O).

Every alert message gets a keyboard fitted to it: mute its kind for an hour or a day; a chart of
the recent price with the level drawn, for level and move alerts (other kinds bring their chart
with them); on a chat's own level, re-arm (a level that fires once) and delete. ``/alert list``
has a delete (and, for a level that fired or expired, a re-arm) button per level.

What a button carries is at most 64 bytes (Telegram's limit): ``al:<action>:<arguments>``. A
press is never trusted: :func:`read` accepts only the actions and values listed here, and the
handler (:mod:`bot.telegram.alert_buttons`) checks the chat owns what the press names.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain import Alert
from bot.i18n import t
from bot.rules.registry import MUTE_GROUPS, group_of
from bot.store.own_levels import Level

PREFIX = "al:"
MUTE_HOURS = (1, 24)
CHART_KINDS = frozenset({"level_break", "level_chop", "large_move", "market_move"})  # drawn on request
PER_ROW = 4  # /alert list buttons in a row
ACTIONS = {
    "m": 2,  # mute: group, hours
    "c": 1,  # chart: alert id
    "r": 1,  # re-arm: level id (a button under an alert)
    "d": 1,  # delete: level id
    "R": 2,  # re-arm from /alert list: chat id, level id (the list is redrawn)
    "D": 2,  # delete from /alert list: chat id, level id
}


def data(action: str, *args: object) -> str:
    text = PREFIX + ":".join([action, *map(str, args)])
    assert len(text.encode()) <= 64, text
    return text


def read(pressed: str | None) -> tuple[str, tuple[str, ...]] | None:
    """``(action, arguments)`` of a press, or None if it is not one of ours as it stands (an old
    keyboard, forged data). Numbers are checked to be numbers, a mute's group and hours to be ours."""
    if not pressed or not pressed.startswith(PREFIX):
        return None
    action, *args = pressed.removeprefix(PREFIX).split(":")
    if ACTIONS.get(action) != len(args):
        return None
    if action == "m":
        group, hours = args
        return (action, (group, hours)) if group in MUTE_GROUPS and hours in map(str, MUTE_HOURS) else None
    if not all(arg.lstrip("-").isdigit() and len(arg) < 20 for arg in args):
        return None
    return action, tuple(args)


def alert_keyboard(
    alerts: Sequence[Alert], alert_ids: Sequence[int], lang: str, own: Level | None, private_link: str | None = None
) -> InlineKeyboardMarkup:
    """Mute the first alert's kind for 1 h or 1 day, 📈 for a level or move alert, the chat's own
    level's re-arm and delete; in a group, ``private_link`` (``https://t.me/<bot>?start=alerts``)
    opens a private chat with the bot to set one's own alerts."""
    group = group_of(alerts[0].kind)
    first = [
        InlineKeyboardButton(t(lang, "button.mute_hour"), callback_data=data("m", group, MUTE_HOURS[0])),
        InlineKeyboardButton(t(lang, "button.mute_day"), callback_data=data("m", group, MUTE_HOURS[1])),
    ]
    charted = next((i for i, a in zip(alert_ids, alerts, strict=False) if a.kind in CHART_KINDS), None)
    if charted is not None:
        first.append(InlineKeyboardButton(t(lang, "button.chart"), callback_data=data("c", charted)))
    rows = [first]
    if own is not None:
        mine = [InlineKeyboardButton(t(lang, "button.delete", id=own.id), callback_data=data("d", own.id))]
        if own.mode == "once":
            mine.insert(0, InlineKeyboardButton(t(lang, "button.rearm", id=own.id), callback_data=data("r", own.id)))
        rows.append(mine)
    if private_link is not None:
        rows.append([InlineKeyboardButton(t(lang, "button.go_private"), url=private_link)])
    return InlineKeyboardMarkup(rows)


def list_keyboard(
    chat_id: int, levels: Sequence[Level], armed: Sequence[bool], lang: str
) -> InlineKeyboardMarkup | None:
    """A delete button per level of ``/alert list``, and a re-arm button for each not ``armed``."""
    buttons = []
    for level, is_armed in zip(levels, armed, strict=True):
        if not is_armed:
            buttons.append(
                InlineKeyboardButton(
                    t(lang, "button.list_rearm", id=level.id), callback_data=data("R", chat_id, level.id)
                )
            )
        buttons.append(
            InlineKeyboardButton(t(lang, "button.list_delete", id=level.id), callback_data=data("D", chat_id, level.id))
        )
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)])
