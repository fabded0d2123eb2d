"""Command modules beyond the foundation. Each has ``COMMANDS`` ((name, help key), ...) shown
by /help and the menu, and ``register(app, chat_filter)`` adding its handlers."""

from __future__ import annotations

from types import ModuleType

FEATURES: tuple[ModuleType, ...] = ()
