"""Command line: ``python -m bot <command>``.

    python -m bot run          run the live Telegram bot (needs TELEGRAM_BOT_TOKEN)
    python -m bot healthcheck  exit 0 if a running bot beat its heartbeat recently (for Docker)

Exit status: 0 on a clean stop, 2 on a configuration error (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.logs import register_secret, setup_logging

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Telegram alerts when Bitcoin and the AI/tech trade move together.",
        epilog="Configuration comes from the environment and .env; see .env.example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser(
        "run",
        help="run the live Telegram bot (needs TELEGRAM_BOT_TOKEN)",
        description="Run the live bot: answer commands and push alerts to subscribed chats.",
    )
    sub.add_parser(
        "healthcheck",
        help="exit 0 if the running bot is alive (used by the Docker HEALTHCHECK)",
        description="Check the heartbeat the running bot writes next to DATABASE_PATH.",
    )
    return parser


async def _run(settings: Settings) -> None:
    from bot.clock import SystemClock
    from bot.health import HealthRegistry
    from bot.scheduler import live_collector
    from bot.store import open_db
    from bot.telegram.app import build_application, serve

    db = open_db(settings.database_path)
    clock, health = SystemClock(), HealthRegistry()
    collector = live_collector(settings, db, clock, health)
    app = build_application(settings, db, clock=clock, health=health, collector=collector)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(app, stop)
    finally:
        db.close()
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if settings.telegram_bot_token is not None:
            register_secret(settings.telegram_bot_token.get_secret_value())
        if args.command == "run":
            settings.require_token()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "healthcheck":
        from datetime import UTC, datetime

        from bot.heartbeat import check, heartbeat_path

        healthy, why = check(heartbeat_path(settings.database_path), datetime.now(UTC))
        print(why, file=sys.stdout if healthy else sys.stderr)
        return 0 if healthy else 1
    setup_logging(settings.log_level)
    if args.command == "run":
        asyncio.run(_run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
