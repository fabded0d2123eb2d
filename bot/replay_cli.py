"""``python -m bot replay``: print what a subscribed chat would have received over recorded data.

    python -m bot replay                                  # December 2025, as a chat reads it
    python -m bot replay --start 2025-01-01 --stats       # how many alerts and messages a week
    python -m bot replay --set move=3σ --json             # one JSON object per alert, your settings

Text output shows each message as the chat reads it (an in-place edit is marked as one);
``--json`` gives one object per alert with the number of the message it went out in
(``message``) and, for an edit, the number of the message it updates (``edit_of``); for a
follow-up, the number of the message it answers (``reply_to``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, TextIO

from bot.config import DEFAULT_REPLAY_START, ConfigError
from bot.render import html_to_plain, render_message
from bot.replay import ReplayMessage, default_plan, replay_messages
from bot.rules.registry import SETTINGS, setting_named
from bot.sources.replay_data import ReplayDataError
from bot.values import BadArgument


def parse_set(text: str) -> tuple[str, Any]:
    """``--set move=3σ``: a setting's name and its value, checked as ``/set`` checks it."""
    name, sep, value = text.partition("=")
    setting = setting_named(name)
    if not sep or setting is None:
        names = ", ".join(s.name for s in SETTINGS)
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME one of {names} (got {text!r})")
    try:
        return setting.name, setting.parse(value)
    except BadArgument as error:
        raise argparse.ArgumentTypeError(f"{setting.name}: {error.message_en()} (e.g. {setting.example})") from None


def add_arguments(replay: argparse.ArgumentParser) -> None:
    replay.add_argument(
        "--set", action="append", type=parse_set, default=[], metavar="NAME=VALUE", dest="chosen",
        help="a setting of the replayed chat, as /set takes it (repeatable), e.g. --set move=3σ",
    )  # fmt: skip
    replay.add_argument("--stats", action="store_true", help="print alerts and messages per kind and per week")


def run(args: argparse.Namespace, levels: dict[str, tuple[float, ...]] | None, out: TextIO = sys.stdout) -> int:
    try:
        messages, data_end = asyncio.run(_collect(args, levels, out))
    except (ReplayDataError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start, end = args.start or DEFAULT_REPLAY_START, args.end or "the end of the data"
    if args.stats:
        print(stats(messages, args.start or DEFAULT_REPLAY_START, args.end or data_end), file=out)
    elif not args.json:
        count = sum(len(m.alerts) for m in messages)
        print(f"{count} alert(s) in {len(messages)} message(s) from {start:%Y-%m-%d} to {end}.", file=sys.stderr)
    return 0


async def _collect(
    args: argparse.Namespace, levels: dict[str, tuple[float, ...]] | None, out: TextIO
) -> tuple[list[ReplayMessage], date]:
    """Every message of the replay (printed as they come unless ``--stats``), and the last day of the data."""
    from tqdm import tqdm

    from bot.wiring import replay_pipeline

    plan = default_plan(args.data, args.start, args.end, levels)
    pipeline = replay_pipeline(plan.data, ":memory:", plan.start, plan.end, levels=plan.levels)

    def progress(total: int) -> tqdm[Any]:
        return tqdm(total=total, desc="replay", unit="step", file=sys.stderr, leave=False, disable=None)

    messages = []
    try:
        async for message in replay_messages(pipeline, chosen=dict(args.chosen), progress=progress):
            messages.append(message)
            if not args.stats:
                _print(message, args, out)
    finally:
        pipeline.db.close()
    return messages, max(e.bar.ts.date() for e in pipeline.driver.source.events())


def _print(message: ReplayMessage, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        for alert in message.alerts:
            record = alert.to_record() | {"message": message.number}
            if message.edit_of is not None:
                record["edit_of"] = message.edit_of
            if message.reply_to is not None:
                record["reply_to"] = message.reply_to
            print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
        return
    text = html_to_plain(render_message(message.alerts, args.lang, args.tz))
    if message.edit_of is not None:
        text = f"[edits message #{message.edit_of}]\n{text}"
    elif message.reply_to is not None:
        text = f"[replies to message #{message.reply_to}]\n{text}"
    print(f"#{message.number} {text}\n", file=out, flush=True)


def stats(messages: Sequence[ReplayMessage], start: date, last: date) -> str:
    """Alerts and messages per kind, and per week (mean, median, peak week, peak day), from ``start`` to ``last``."""
    weeks = max(1.0, ((last - start).days + 1) / 7)
    new = [m for m in messages if m.edit_of is None]
    alerts = Counter(a.kind for m in messages for a in m.alerts)
    led = Counter(m.alerts[0].kind for m in new)  # a message counts under its first (most important) alert
    per_week = Counter(_week(m.at.date(), start) for m in new)
    per_day = Counter(m.at.date() for m in new)
    all_weeks = [per_week.get(w, 0) for w in range(int(weeks + 0.999))]
    peak_week = max(per_week.items(), key=lambda kv: kv[1], default=(0, 0))
    peak_day = max(per_day.items(), key=lambda kv: kv[1], default=(start, 0))
    lines = [
        f"Replay {start:%Y-%m-%d} to {last:%Y-%m-%d} ({weeks:.1f} weeks), one chat with the given settings:",
        f"{'kind':<22}{'alerts':>8}{'messages':>10}",
        *(f"{kind:<22}{alerts[kind]:>8}{led.get(kind, 0):>10}" for kind in sorted(alerts)),
        f"{'total':<22}{sum(alerts.values()):>8}{len(new):>10}   (+ {len(messages) - len(new)} in-place edits)",
        "",
        f"messages a week: mean {len(new) / weeks:.2f}, median {statistics.median(all_weeks or [0]):.1f}, "
        f"peak {peak_week[1]} (week of {start + timedelta(weeks=peak_week[0]):%d %b %Y})",
        f"peak day: {peak_day[1]} ({peak_day[0]:%a %d %b %Y})",
    ]
    return "\n".join(lines)


def _week(day: date, start: date) -> int:
    return (day - start).days // 7
