"""Small helpers shared by several test modules."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.domain import Alert
from bot.replay import ReplayMessage, ReplayPlan, replay_alerts, replay_messages
from bot.rules.registry import decode_values, encode_value, setting_named
from bot.store import open_db, outbox, prefs
from bot.store.outbox import RuleKey
from bot.wiring import replay_pipeline

T = TypeVar("T")
DEFAULT_NOW = datetime(2025, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ROOT / "tests" / "offline"


def checkout_env(**extra: str) -> dict[str, str]:
    """The environment for ``python -m bot`` in a subprocess: this checkout's code first (whatever
    the interpreter has installed), no developer's Telegram settings, and a machine without
    internet (tests/offline/sitecustomize.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(OFFLINE), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


_STORE = open_db(":memory:")


def through_store(state: T) -> T:
    """``state`` as the engine reads it back after a restart: saved as a rule state and loaded again."""
    key = RuleKey("test", "SYM")
    outbox.save_state(_STORE, key, state, datetime(2025, 1, 1, tzinfo=UTC))
    loaded = outbox.load_state(_STORE, key, type(state))
    assert loaded is not None
    return loaded


def replayed(plan: ReplayPlan) -> list[Alert]:
    """Every alert ``python -m bot replay`` would print for ``plan``, through the real pipeline."""

    async def collect() -> list[Alert]:
        pipeline = replay_pipeline(plan.data, ":memory:", plan.start, plan.end, levels=plan.levels)
        try:
            return [alert async for alert in replay_alerts(pipeline)]
        finally:
            pipeline.db.close()

    return asyncio.run(collect())


def subscriber_messages(plan: ReplayPlan, chosen: Mapping[str, Any] | None = None) -> list[ReplayMessage]:
    """Every message a subscribed chat with ``chosen`` settings receives over ``plan``, in order."""

    async def collect() -> list[ReplayMessage]:
        pipeline = replay_pipeline(plan.data, ":memory:", plan.start, plan.end, levels=plan.levels)
        try:
            return [message async for message in replay_messages(pipeline, chosen=chosen)]
        finally:
            pipeline.db.close()

    return asyncio.run(collect())


def choose(db: Database, chat_id: int, setting: str, text: str, now: datetime = DEFAULT_NOW) -> None:
    """The chat sets ``setting`` to ``text`` as ``/set`` would store it."""
    found = setting_named(setting)
    assert found is not None, setting
    prefs.set_value(db, chat_id, found.name, encode_value(found, found.parse(text)), now)


def chosen(db: Database, chat_id: int) -> dict[str, Any]:
    """What the chat chose, read back as the bot reads it (a setting not here is at the default)."""
    return decode_values(prefs.chosen_values(db, chat_id))
