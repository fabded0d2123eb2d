"""engine → outbox → chat: draining the durable outbox into Telegram."""
