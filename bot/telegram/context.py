"""What every handler can reach, typed: PTB's ``ContextTypes`` with the bot's own context class.

    async def status(update: Update, context: BotContext) -> None:
        d = context.deps            # settings, database, clock, health, ...

``application.bot_data`` is a :class:`BotData` (PTB makes one per application): the
handlers' :class:`Deps`, the outbox sender and the market jobs, set once the application
is built (:func:`bot.telegram.app.build_application`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.engine.engine import Engine
from bot.health import HealthRegistry
from bot.metrics import Metrics
from bot.sources.base import SymbolCheck

if TYPE_CHECKING:
    from bot.delivery.sender import Sender
    from bot.scheduler import Runner
    from bot.telegram.admins import AdminCache


@dataclass(slots=True)
class Deps:
    """The handlers' dependencies."""

    settings: Settings
    db: Database
    clock: Clock
    health: HealthRegistry
    started_at: datetime
    admins: AdminCache
    engine: Engine | None = None  # None: no market data (/alert changes its level index one level at a time)
    symbols: SymbolCheck | None = None  # whether a ticker exists (/watch add)
    commands: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (name, help key) for /help
    metrics: Metrics = field(default_factory=Metrics)


class BotData:
    """``application.bot_data``."""

    __slots__ = ("deps", "runner", "sender")

    def __init__(self) -> None:
        self.deps: Deps | None = None
        self.sender: Sender | None = None
        self.runner: Runner | None = None


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The ``context`` every handler and job receives."""

    @property
    def deps(self) -> Deps:
        deps = self.bot_data.deps
        if deps is None:
            raise RuntimeError("the application was not built by build_application")
        return deps


CONTEXT_TYPES: ContextTypes[BotContext, dict[Any, Any], dict[Any, Any], BotData] = ContextTypes(
    context=BotContext, bot_data=BotData
)
