"""Building the PTB application and serving it on one event loop.

app = build_application(parts)     # every handler from the registry, the sender, the jobs
await serve(app, stop)             # connect, register the menu, poll until ``stop`` is set
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, BaseRateLimiter, Defaults

from bot.backoff import capped_exponential
from bot.config import Settings
from bot.delivery.limiter import Limits, SmoothRateLimiter
from bot.delivery.sender import Sender
from bot.health import HealthRegistry
from bot.heartbeat import INTERVAL, beat, heartbeat_path
from bot.i18n import languages
from bot.logs import register_secret
from bot.metrics import Metrics
from bot.telegram import registry
from bot.telegram.admins import AdminCache
from bot.telegram.context import CONTEXT_TYPES, BotContext, BotData, Deps
from bot.telegram.errors import on_error
from bot.telegram.lanes import ChatLanes
from bot.wiring import Parts

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.CHAT_MEMBER,
]
BotApplication = Application[Any, BotContext, Any, Any, BotData, Any]


CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
WRITE_TIMEOUT = 30.0
MEDIA_WRITE_TIMEOUT = 60.0  # a chart photo
POOL_TIMEOUT = 30.0  # waiting for a free connection while many sends are in flight
STOP_GRACE = 5.0  # seconds the updates being handled get to finish when the bot stops


def build_application(parts: Parts, *, rate_limiter: BaseRateLimiter[Any] | None = None) -> BotApplication:
    """The bot with every handler registered; pass it to :func:`serve`.

    ``rate_limiter`` replaces the bot's own :class:`SmoothRateLimiter` (tests relax it).
    """
    settings, db, clock = parts.settings, parts.db, parts.clock
    token = settings.require_token()
    register_secret(token)
    builder = (
        Application.builder()
        .token(token)
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(rate_limiter or SmoothRateLimiter(Limits.paid() if settings.paid_broadcast else None))
        .concurrent_updates(ChatLanes())  # each chat in its own lane: one waiting never holds another
        # Stopping cancels the pending long poll; its connection is not free at once, and the
        # final getUpdates that confirms the last updates needs one of its own.
        .get_updates_connection_pool_size(2)
        # Telegram answers a send in well under a second, but a busy moment can take several:
        # PTB's 5 s default turned slow successes into retries, so duplicates. A send is retried
        # (and may then arrive twice) only if its answer takes longer than READ_TIMEOUT.
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .write_timeout(WRITE_TIMEOUT)
        .media_write_timeout(MEDIA_WRITE_TIMEOUT)
        .pool_timeout(POOL_TIMEOUT)
    )
    if settings.api_base:
        builder = builder.base_url(f"{settings.api_base}/bot").base_file_url(f"{settings.api_base}/file/bot")
    app: BotApplication = builder.build()
    metrics = Metrics(parts.health)
    app.bot_data.deps = Deps(
        settings=settings,
        db=db,
        clock=clock,
        health=parts.health,
        started_at=parts.started_at or clock.now(),
        admins=AdminCache(),
        engine=parts.engine,
        symbols=parts.symbols,
        commands=registry.help_lines(),
        metrics=metrics,
    )
    app.bot_data.runner = parts.runner
    max_age = timedelta(hours=settings.alert_max_age_hours) if parts.expire else None
    app.bot_data.sender = Sender(
        db,
        app.bot,
        clock,
        attach=parts.attach,
        max_age=max_age,
        health=parts.health,
        admin_chats=settings.admin_chat_ids,
        metrics=metrics,
        paid=settings.paid_broadcast,
    )
    if parts.engine is not None:  # an alert queued goes out at once, not at the sender's next poll
        parts.engine.on_queued = app.bot_data.sender.wake
    registry.register(app)
    app.add_error_handler(on_error)
    return app


def schedule_jobs(app: BotApplication) -> None:
    """Recurring work on the JobQueue (APScheduler), scheduled once the application runs."""
    assert app.job_queue is not None
    app.job_queue.run_repeating(_heartbeat, INTERVAL, first=0.1, name="heartbeat")
    if app.bot_data.runner is not None:
        app.bot_data.runner.schedule(app.job_queue)
    if (
        app.bot_data.deps is not None and app.bot_data.deps.engine is not None
    ):  # messages decided before a restart but not all queued yet
        app.job_queue.run_once(_fan_out, 0, name="fan out")
    # The outbox drains in its own task (a long broadcast must not hold up the JobQueue);
    # serve() stops it before the application.
    if app.bot_data.sender is not None:
        app.bot_data.sender.start()


async def _fan_out(context: BotContext) -> None:
    engine = context.deps.engine
    if engine is not None and (queued := await engine.fan_out()):
        log.info("queued the messages of %d chat(s) decided before the restart", queued)


async def _heartbeat(context: BotContext) -> None:
    """Touch the heartbeat file that ``python -m bot healthcheck`` reads."""
    d = context.deps
    if str(d.settings.database_path) != ":memory:":
        beat(heartbeat_path(d.settings.database_path), d.clock.now())


async def _initialize_with_retry(app: BotApplication, stop: asyncio.Event) -> bool:
    """``getMe`` until Telegram answers (backing off up to a minute); False if stopped first."""
    attempt = 0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            delay = capped_exponential(attempt, 1.0, 60.0)
            log.warning("Telegram unreachable (%s); retrying in %.0f s", exc, delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            attempt += 1
    return False


async def register_menu(app: BotApplication) -> None:
    """The command menu users see next to the text box, in each language we speak."""
    for lang in languages():
        try:
            await app.bot.set_my_commands(registry.menu(lang), language_code=None if lang == "en" else lang)
        except TelegramError as exc:
            log.warning("could not register the command menu (%s): %s", lang, exc)


async def start_webhook(app: BotApplication, settings: Settings) -> None:
    """Updates by webhook: Telegram posts them to ``WEBHOOK_URL`` with a secret token; PTB's server
    on ``WEBHOOK_LISTEN:WEBHOOK_PORT`` refuses any request without it (403)."""
    assert app.updater is not None and settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    register_secret(secret)
    url = str(settings.webhook_url)
    await app.updater.start_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=urlsplit(url).path.lstrip("/"),
        webhook_url=url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
    )
    log.info("updates by webhook at %s (listening on %s:%d)", url, settings.webhook_listen, settings.webhook_port)


async def check_chart_font(health: HealthRegistry) -> None:
    """Say once at start which font draws Chinese chart labels, loudly if none can (/status too)."""
    from bot.charts import cjk_font

    health.chart_font = await asyncio.to_thread(cjk_font)
    health.chart_font_checked = True
    if health.chart_font is None:
        log.warning("charts: no font has the Chinese glyphs the labels need: Chinese chats get English charts")
    else:
        log.info("charts: Chinese labels drawn with %s", health.chart_font)


async def serve(app: BotApplication, stop: asyncio.Event, *, poll_timeout: float = 10.0) -> None:
    """Run the bot until ``stop`` is set: connect, register the menu, poll, shut down cleanly."""
    if not await _initialize_with_retry(app, stop):
        return
    assert app.updater is not None
    deps = app.bot_data.deps
    if deps is not None and deps.settings.metrics_port is not None:
        port = deps.metrics.serve(deps.settings.metrics_port, deps.settings.metrics_host)
        log.info("metrics on http://%s:%d/metrics", deps.settings.metrics_host, port)
    try:
        await register_menu(app)
        await app.start()
        schedule_jobs(app)
        if deps is not None and deps.settings.webhook_url is not None:
            await start_webhook(app, deps.settings)
        else:
            await app.updater.start_polling(timeout=timedelta(seconds=poll_timeout), allowed_updates=ALLOWED_UPDATES)
        log.info("bot @%s is up", app.bot.username)
        if deps is not None:
            await check_chart_font(deps.health)
        await stop.wait()
    finally:
        if app.bot_data.sender is not None:
            await app.bot_data.sender.stop()
        if app.updater.running:
            await app.updater.stop()
        if isinstance(app.update_processor, ChatLanes):  # no reply keeps the bot from stopping for long
            await app.update_processor.settle(STOP_GRACE)
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.bot_data.runner is not None:
            await app.bot_data.runner.close()
        if deps is not None:
            deps.metrics.close()
