"""Command modules beyond the foundation. Each has ``COMMANDS`` ((name, help key), ...) shown
by /help and the menu, and ``register(app, chat_filter)`` adding its handlers."""

from __future__ import annotations

from types import ModuleType

from bot.telegram import alert_commands, locale_commands, market_commands, settings_commands

FEATURES: tuple[ModuleType, ...] = (market_commands, alert_commands, settings_commands, locale_commands)
