"""Command line: ``python -m bot <command>``.

    python -m bot replay       what the bot would have said over recorded data (no token, no network)
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
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from bot import __version__
from bot.config import SHIPPED_REPLAY_DATA, ConfigError, Settings, load_settings
from bot.logs import register_secret, setup_logging
from bot.replay_cli import add_arguments as add_replay_arguments
from bot.sources.replay_data import ReplayDataError
from bot.startup import StartupError, check_database, single_instance

log = logging.getLogger("bot")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2025-12-11, got {text!r}") from None


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 3600, got {text!r}") from None
    if not 0 < value <= 10_000_000:
        raise argparse.ArgumentTypeError("speed must be between 0 and 10,000,000")
    return value


def _replay(args: argparse.Namespace) -> int:
    from bot import replay_cli
    from bot.config import parse_levels

    try:
        levels = parse_levels(";".join(args.levels)) if args.levels else None
    except ValueError as exc:
        print(f"error: --levels: {exc} (e.g. --levels BTC:90000,92000)", file=sys.stderr)
        return 2
    if args.start and args.end and args.end < args.start:
        print("error: --end is before --start", file=sys.stderr)
        return 2
    return replay_cli.run(args, levels)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Telegram alerts when Bitcoin and the AI/tech trade move together.",
        epilog="Configuration comes from the environment and .env; see .env.example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    replay = sub.add_parser(
        "replay",
        help="print the alerts the bot would have sent over recorded data (default: December 2025)",
        description=(
            "Run the rules engine over recorded market data on a simulated clock, as a chat with "
            "default settings would experience it, and print each alert in time order. "
            "Needs no token and no network."
        ),
        epilog="Example: python -m bot replay --start 2025-12-10 --end 2025-12-12 --levels BTC:90000,92000",
    )
    replay.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="folder of <SYMBOL>_1d.csv / _1h.csv files (default: the shipped 2025 data)",
    )
    replay.add_argument(
        "--start",
        type=_date,
        metavar="DATE",
        help="first day that alerts (default 2025-12-01; earlier data is history)",
    )
    replay.add_argument("--end", type=_date, metavar="DATE", help="last day replayed (default: the end of the data)")
    replay.add_argument(
        "--levels", action="append", metavar="SYMBOL:L1,L2", help="key levels instead of DEFAULT_LEVELS (repeatable)"
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per alert and line")
    replay.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the rendered alerts")
    replay.add_argument("--tz", default="UTC", metavar="ZONE", help="timezone for rendered times, e.g. Europe/Berlin")
    add_replay_arguments(replay)
    run = sub.add_parser(
        "run",
        help="run the live Telegram bot (needs TELEGRAM_BOT_TOKEN)",
        description=(
            "Run the bot: answer commands and push alerts to subscribed chats. With --replay it "
            "runs on recorded data and a simulated clock instead of live prices."
        ),
        epilog="Example: python -m bot run --replay --start 2025-12-10 --speed 3600",
    )
    run.add_argument(
        "--replay",
        nargs="?",
        type=Path,
        const=SHIPPED_REPLAY_DATA,
        metavar="DIR",
        help="serve recorded data (default: the shipped 2025 data) instead of live prices",
    )
    run.add_argument("--start", type=_date, metavar="DATE", help="with --replay: simulated start (default 2025-12-01)")
    run.add_argument(
        "--speed",
        type=_speed,
        default=3600.0,
        metavar="N",
        help="with --replay: simulated seconds per real second (default 3600: an hour a second)",
    )
    sub.add_parser(
        "healthcheck",
        help="exit 0 if the running bot is alive (used by the Docker HEALTHCHECK)",
        description="Check the heartbeat the running bot writes next to DATABASE_PATH.",
    )
    return parser


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    from telegram.error import InvalidToken

    from bot.replay import replay_database_path
    from bot.telegram.app import build_application, serve
    from bot.wiring import live_parts, replay_parts

    if args.replay is None:
        check_database(settings.database_path)
    with single_instance(replay_database_path(settings.database_path) if args.replay else settings.database_path):
        try:
            if args.replay is None:
                parts = live_parts(settings)
            else:
                parts = await replay_parts(settings, args.replay, args.start, args.speed)
        except ValueError as exc:  # a setting the sources refuse (an unknown exchange)
            raise StartupError(str(exc)) from None
        app = build_application(parts)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await serve(app, stop)
        except InvalidToken:
            raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN: check the token @BotFather gave you") from None
        finally:
            parts.db.close()
            log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        setup_logging("WARNING")
        return _replay(args)
    try:
        settings = load_settings()
        if settings.telegram_bot_token is not None:
            register_secret(settings.telegram_bot_token.get_secret_value())
        if settings.yahoo_proxy:  # http://user:password@host: the password never reaches a log
            register_secret(urlsplit(settings.yahoo_proxy).password)
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
    setup_logging(settings.log_level, json_lines=settings.log_format == "json")
    if args.command == "run":
        try:
            asyncio.run(_run(settings, args))
        except (ReplayDataError, StartupError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
