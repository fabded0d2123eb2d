"""What handlers need, kept in ``application.bot_data`` under one typed key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database
from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.config import Settings
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.sources.base import SymbolCheck

DEPS_KEY = "deps"


@dataclass(slots=True)
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    health: HealthRegistry
    started_at: datetime
    engine: Engine | None = None
    symbols: SymbolCheck | None = None


def deps(context: CallbackContext) -> Deps:
    return context.application.bot_data[DEPS_KEY]
