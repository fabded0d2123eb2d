"""Building the PTB application and serving it on one event loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlite_utils import Database
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.delivery.limiter import SmoothRateLimiter
from bot.delivery.sender import Sender
from bot.scheduler import Runner
from bot.wiring import Parts
from bot.heartbeat import INTERVAL, beat, heartbeat_path
from bot.i18n import LANGUAGES
from bot.logs import register_secret
from bot.telegram import commands
from bot.telegram.deps import DEPS_KEY, Deps
from bot.telegram.errors import on_error
from bot.telegram.features import FEATURES
from bot.telegram.membership import track_membership

log = logging.getLogger(__name__)

SENDER_KEY = "outbox sender"
RUNNER_KEY = "market jobs"
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


def build_application(parts: Parts) -> Application:
    """The bot with every handler registered; pass it to :func:`serve`."""
    settings, db, clock = parts.settings, parts.db, parts.clock
    token = settings.require_token()
    register_secret(token)
    builder = (
        Application.builder()
        .token(token)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(SmoothRateLimiter())
    )
    if settings.api_base:
        builder = builder.base_url(f"{settings.api_base}/bot").base_file_url(
            f"{settings.api_base}/file/bot"
        )
    app = builder.build()
    app.bot_data[DEPS_KEY] = Deps(
        settings=settings,
        db=db,
        clock=clock,
        health=parts.health,
        started_at=parts.started_at or clock.now(),
        engine=parts.engine,
        symbols=parts.symbols,
    )
    app.bot_data[RUNNER_KEY] = parts.runner
    app.bot_data[SENDER_KEY] = Sender(db, app.bot, clock, attach=parts.attach)
    private_or_group = ~filters.UpdateType.EDITED & ~filters.ChatType.CHANNEL
    app.add_handler(CommandHandler("start", commands.start, filters=private_or_group))
    app.add_handler(CommandHandler("stop", commands.stop, filters=private_or_group))
    app.add_handler(CommandHandler("help", commands.help_command, filters=private_or_group))
    app.add_handler(CommandHandler("status", commands.status, filters=private_or_group))
    for feature in FEATURES:
        feature.register(app, private_or_group)
    app.add_handler(MessageHandler(filters.COMMAND & private_or_group, commands.unknown))
    app.add_handler(ChatMemberHandler(track_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(on_error)
    return app


def schedule_jobs(app: Application) -> None:
    """Recurring work on the JobQueue (APScheduler), scheduled once the application runs."""
    app.job_queue.run_repeating(_heartbeat, INTERVAL, first=0.1, name="heartbeat")
    runner: Runner | None = app.bot_data[RUNNER_KEY]
    if runner is not None:
        runner.schedule(app.job_queue)
    # The outbox drains in its own task (a long broadcast must not hold up the JobQueue);
    # serve() stops it before the application.
    app.bot_data[SENDER_KEY].start()


async def _heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Touch the heartbeat file that ``python -m bot healthcheck`` reads."""
    d: Deps = context.application.bot_data[DEPS_KEY]
    if str(d.settings.database_path) != ":memory:":
        beat(heartbeat_path(d.settings.database_path), d.clock.now())


async def _initialize_with_retry(app: Application, stop: asyncio.Event) -> bool:
    """``getMe`` until Telegram answers (backing off up to a minute); False if stopped first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.warning("Telegram unreachable (%s); retrying in %.0f s", exc, delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            delay = min(delay * 2, 60.0)
    return False


async def register_menu(app: Application) -> None:
    """The command menu users see next to the text box, in each language we speak."""
    for lang in LANGUAGES:
        try:
            await app.bot.set_my_commands(
                commands.menu(lang), language_code=None if lang == "en" else lang
            )
        except TelegramError as exc:
            log.warning("could not register the command menu (%s): %s", lang, exc)


async def serve(app: Application, stop: asyncio.Event, *, poll_timeout: float = 10.0) -> None:
    """Run the bot until ``stop`` is set: connect, register the menu, poll, shut down cleanly."""
    if not await _initialize_with_retry(app, stop):
        return
    try:
        await register_menu(app)
        await app.start()
        schedule_jobs(app)
        await app.updater.start_polling(
            timeout=timedelta(seconds=poll_timeout), allowed_updates=ALLOWED_UPDATES
        )
        log.info("bot @%s is up", app.bot.username)
        await stop.wait()
    finally:
        await app.bot_data[SENDER_KEY].stop()
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        runner = app.bot_data[RUNNER_KEY]
        if runner is not None:
            await runner.close()
