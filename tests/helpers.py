"""Small helpers shared by several test modules."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.domain import Alert
from bot.markettime import MarketHours
from bot.replay import ReplayMessage, ReplayPlan, replay_alerts, replay_messages
from bot.rules.correlation import CorrelationSpike
from bot.rules.correlation_stats import AlignedReturns, synchronous_returns
from bot.rules.registry import decode_values, encode_value, setting_named
from bot.sources.replay_data import ReplayData, load_replay_data
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


RECENT_SINCE = "2025-09-01"


def recent_replay_data(dest: Path, since: str = RECENT_SINCE) -> Path:
    """The shipped replay data from ``since`` on, in ``dest``: enough history for every rule that
    speaks in December (σ and β need 60 sessions; no correlation verdict before 120, as with the
    defaults on the full data), for tests of the replay's plumbing that need not walk the year."""
    from bot.replay import SHIPPED_REPLAY_DATA

    dest.mkdir(parents=True, exist_ok=True)
    for source in SHIPPED_REPLAY_DATA.glob("*.csv"):
        lines = source.read_text(encoding="utf-8").splitlines()
        if source.name != "earnings_dates.csv":
            lines = [lines[0], *(line for line in lines[1:] if line[:10] >= since)]
        (dest / source.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


@functools.cache
def real_data() -> ReplayData:
    """The shipped 2025 data, read once per test process."""
    return load_replay_data()


@functools.cache
def real_returns(symbol: str) -> AlignedReturns:
    """The synchronous daily log-return pairs (BTC at the NYSE close, ``symbol``) of 2025."""
    from bot.rules.correlation import session_closes

    data = real_data()
    return synchronous_returns(
        data.series("BTC", "1d"),
        data.series("BTC", "1h"),
        data.series(symbol, "1d"),
        now=datetime(2026, 1, 2, tzinfo=UTC),
        session_close=session_closes(MarketHours(date(2024, 12, 1), date(2026, 1, 31))),
    )


def correlation_spike(**changes: Any) -> CorrelationSpike:
    """BTC–NVDA moving together more than usual, as the rule decides it (``changes`` replace fields)."""
    fields = {
        "symbol": "NVDA",
        "time": datetime(2025, 12, 11, 21, 30, tzinfo=UTC),
        "direction": "up",
        "threshold": 3.1,
        "z": 3.42,
        "value": 0.7812,
        "low": 0.52,
        "high": 0.91,
        "usual": 0.21,
        "usual_low": 0.02,
        "usual_high": 0.38,
        "kappa": 1.1,
        "start": date(2025, 11, 13),
        "end": date(2025, 12, 11),
        "usual_start": date(2025, 6, 18),
        "usual_end": date(2025, 11, 12),
        "at_close": 20,
    }
    return CorrelationSpike(**{**fields, **changes})
