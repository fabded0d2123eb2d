"""Setup by tapping: the buttons under /start in a private chat.

Language, a timezone (a few common ones, or "another": how to type one with /tz) and which kinds
of alert to receive, each a tap; the message is redrawn after each, in the chat's language.
A press acts on the private chat it was pressed in (a channel managed from it keeps its own
settings), is checked like any button (only data of ours) and always answered.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler

from bot.config import Settings
from bot.formatting import fmt_groups, fmt_list, fmt_price
from bot.i18n import languages, t
from bot.quiet import RECEIVE_CHOICES
from bot.rules.registry import RECEIVE, decode_values, encode_value
from bot.store import chats, prefs
from bot.telegram.context import BotContext
from bot.telegram.kit import chat_language

PREFIX = "setup:"
TIMEZONES = (
    ("utc", "UTC"),
    ("new_york", "America/New_York"),
    ("london", "Europe/London"),
    ("berlin", "Europe/Berlin"),
    ("shanghai", "Asia/Shanghai"),
    ("singapore", "Asia/Singapore"),
    ("tokyo", "Asia/Tokyo"),
)


def welcome(settings: Settings, lang: str) -> str:
    """What /start says: which alerts will arrive."""
    levels = fmt_groups(lang, (f"{s} {fmt_list(lang, map(fmt_price, ps))}" for s, ps in settings.levels.items()))
    symbols, watchlist = fmt_list(lang, settings.crypto_symbols), fmt_list(lang, settings.equity_watchlist)
    return t(lang, "start.welcome", symbols=symbols, levels=levels, watchlist=watchlist)


def setup_keyboard(lang: str, timezone: str, received: tuple[str, ...]) -> InlineKeyboardMarkup:
    """Languages, common timezones (the chosen ones marked ✓) and a ✅/⬜ per kind of alert."""

    def mark(chosen: bool, label: str) -> str:
        return f"✓ {label}" if chosen else label

    langs = [
        InlineKeyboardButton(mark(code == lang, t(code, "language.name")), callback_data=f"{PREFIX}lang:{code}")
        for code in languages()
    ]
    zones = [
        InlineKeyboardButton(mark(zone == timezone, t(lang, f"setup.tz.{slug}")), callback_data=f"{PREFIX}tz:{slug}")
        for slug, zone in TIMEZONES
    ]
    zones.append(InlineKeyboardButton(t(lang, "setup.tz.other"), callback_data=f"{PREFIX}tz:other"))
    kinds = [
        InlineKeyboardButton(
            f"{'✅' if kind in received else '⬜'} {t(lang, f'silent.{kind}')}", callback_data=f"{PREFIX}kind:{kind}"
        )
        for kind in RECEIVE_CHOICES
    ]
    return InlineKeyboardMarkup([langs, zones[:4], zones[4:], kinds[:2], kinds[2:]])


def received_by(db_values: dict[str, str], settings: Settings) -> tuple[str, ...]:
    value = decode_values(db_values).get("receive")
    return tuple(value) if value is not None else RECEIVE.default(settings)


async def pressed(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    d = context.deps
    message = query.message if isinstance(query.message, Message) else None
    what, _, value = (query.data or "").removeprefix(PREFIX).partition(":")
    chat = chats.get_chat(d.db, message.chat.id) if message is not None else None
    zones = dict(TIMEZONES)
    known = (
        (what == "lang" and value in languages())
        or (what == "tz" and (value in zones or value == "other"))
        or (what == "kind" and value in RECEIVE_CHOICES)
    )
    if chat is None or message is None or not known:
        await query.answer(t(chat_language(d, update), "button.stale"))
        return
    now = d.clock.now()
    if what == "lang":
        chats.set_language(d.db, chat.id, value, now=now)
        answer = t(value, "lang.done", language=t(value, "language.name"))
    elif what == "tz" and value == "other":
        await query.answer(t(chat.language, "setup.tz.type"), show_alert=True)
        return
    elif what == "tz":
        chats.set_timezone(d.db, chat.id, zones[value], now=now)
        answer = t(chat.language, "setup.tz.done", zone=zones[value])
    else:
        received = set(received_by(prefs.chosen_values(d.db, chat.id), d.settings)) ^ {value}
        chosen = tuple(k for k in RECEIVE_CHOICES if k in received)
        prefs.set_value(d.db, chat.id, "receive", encode_value(RECEIVE, chosen), now)
        answer = t(
            chat.language,
            "set.done",
            setting=t(chat.language, RECEIVE.label),
            value=RECEIVE.show(chosen, chat.language),
        )
    await query.answer(answer)
    fresh = chats.get_chat(d.db, chat.id)
    assert fresh is not None
    received_now = received_by(prefs.chosen_values(d.db, chat.id), d.settings)
    await query.edit_message_text(
        welcome(d.settings, fresh.language),
        parse_mode=ParseMode.HTML,
        reply_markup=setup_keyboard(fresh.language, fresh.timezone, received_now),
    )


BUTTONS = (CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"),)
