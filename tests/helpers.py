"""Small helpers shared by several test modules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TypeVar

from bot.domain import Alert
from bot.replay import ReplayPlan, replay_alerts
from bot.store import open_db, outbox
from bot.store.outbox import RuleKey
from bot.wiring import replay_pipeline

T = TypeVar("T")
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
