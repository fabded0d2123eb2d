"""Telegram alerts when Bitcoin and the AI/tech trade move together."""

__version__ = "0.1.0"
