"""The one global error handler: log with traceback, tell the admins, mark dead chats."""

from __future__ import annotations

import html
import logging
import sqlite3
import traceback

from telegram import Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.delivery.sender import is_chat_gone
from bot.i18n import t
from bot.logs import redact
from bot.render import telegram_length
from bot.store import chats
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


def admin_report(error: BaseException, where: str) -> str:
    """Escaped HTML under Telegram's 4,096-character limit, secrets masked."""
    trace = redact("".join(traceback.format_exception(error)))
    shell = t("en", "error.admin", where=redact(where)[:300], trace="")
    room = MessageLimit.MAX_TEXT_LENGTH - telegram_length(shell) - 20
    escaped = html.escape(trace)
    if telegram_length(escaped) > room:
        # Keep the end of the traceback: that is where the error is.
        cut = trace[-room:]
        while telegram_length(html.escape(cut)) > room:
            cut = cut[len(cut) // 10 or 1 :]
        escaped = "…" + html.escape(cut)
    return shell.replace("<pre></pre>", f"<pre>{escaped}</pre>")


def _describe(update: object) -> str:
    if isinstance(update, Update):
        chat = update.effective_chat
        message = update.effective_message
        text = (message.text or "")[:80] if message else ""
        return f"update {update.update_id} in chat {chat.id if chat else '?'}: {text!r}"
    return repr(update)[:200]


async def on_error(update: object, context: BotContext) -> None:
    """Log every unhandled error with its traceback and notify ADMIN_CHAT_IDS."""
    error = context.error
    if error is None:
        return
    d = context.deps
    chat = update.effective_chat if isinstance(update, Update) else None
    if is_chat_gone(error) and chat is not None:
        chats.set_blocked(d.db, chat.id, True, now=d.clock.now())
        log.info("chat %s is gone (%s): marked blocked", chat.id, error)
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        log.warning("Telegram unreachable while handling %s: %s", _describe(update), error)
        return
    if isinstance(error, sqlite3.OperationalError):  # disk full, read-only: the sender tells the admins once
        log.warning("not saved while handling %s: the database cannot be written (%s)", _describe(update), error)
        if isinstance(update, Update) and update.effective_message is not None:
            try:
                lang = chats.get_chat(d.db, chat.id) if chat is not None else None
                await update.effective_message.reply_html(t(lang.language if lang else "en", "error.storage"))
            except TelegramError:
                pass
        return
    log.error("unhandled error while handling %s", _describe(update), exc_info=error)
    report = admin_report(error, _describe(update))
    for admin_id in d.settings.admin_chat_ids:
        try:
            await context.bot.send_message(admin_id, report)
        except TelegramError as exc:
            log.warning("could not notify admin chat %s: %s", admin_id, exc)
    if chat is not None and isinstance(update, Update) and update.effective_message is not None:
        try:
            lang = chats.get_chat(d.db, chat.id)
            await update.effective_message.reply_html(t(lang.language if lang else "en", "error.user"))
        except TelegramError:
            pass
