"""What handlers need, kept in ``application.bot_data`` under one typed key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database
from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.collector import Collector
from bot.engine.engine import Engine
from bot.replay_live import ReplayFeeder
from bot.config import Settings
from bot.health import HealthRegistry

DEPS_KEY = "deps"


@dataclass(slots=True)
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    health: HealthRegistry
    started_at: datetime
    collector: Collector | None = None
    engine: Engine | None = None
    feeder: ReplayFeeder | None = None


def deps(context: CallbackContext) -> Deps:
    return context.application.bot_data[DEPS_KEY]
