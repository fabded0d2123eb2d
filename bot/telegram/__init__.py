"""The Telegram side: application wiring, command handlers, membership, errors."""
