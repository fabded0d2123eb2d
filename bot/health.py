"""What each data source last did, for ``/status`` and for the engine's staleness gate.

Pure bookkeeping: sources report successes and failures with the time from an
injected clock; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class SourceHealth:
    name: str
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None

    @property
    def up(self) -> bool:
        return self.last_success is not None and self.failing_since is None


@dataclass(slots=True)
class StreamHealth:
    """One exchange's websocket stream: ``streaming`` (messages arrive), ``connecting`` or ``down``
    (its prices are polled meanwhile)."""

    name: str
    state: str = "connecting"
    last_message: datetime | None = None
    error: str | None = None
    down_since: datetime | None = None

    def connecting(self) -> None:
        """A connection is tried; a stream that is down stays down (and since when) until a message."""
        if self.state != "down":
            self.state = "connecting"

    def message(self, when: datetime) -> bool:
        """A message arrived; True if the stream was not streaming before it."""
        started = self.state != "streaming"
        self.state, self.last_message, self.down_since = "streaming", when, None
        return started

    def down(self, when: datetime, error: str) -> bool:
        """The connection failed or fell silent; True if the stream was not down before it."""
        went = self.state != "down"
        if went:
            self.down_since = when
        self.state, self.error = "down", error
        return went


@dataclass(slots=True)
class HealthRegistry:
    sources: dict[str, SourceHealth] = field(default_factory=dict)
    streams: dict[str, StreamHealth] = field(default_factory=dict)
    # Series that must not feed an alert now, with their last good update (None: never).
    stale: dict[str, datetime | None] = field(default_factory=dict)
    # Whether the market data collectors run at all (False until they are started).
    collecting: bool = False
    # The database refuses writes (disk full, read-only) since then, and why: sending is paused.
    storage_failing_since: datetime | None = None
    storage_error: str | None = None
    # The font Chinese chart labels are drawn with (looked for at start); None: none has their
    # glyphs, so Chinese chats get charts labelled in English.
    chart_font: str | None = None
    chart_font_checked: bool = False

    def source(self, name: str) -> SourceHealth:
        if name not in self.sources:
            self.sources[name] = SourceHealth(name)
        return self.sources[name]

    def success(self, name: str, when: datetime) -> None:
        health = self.source(name)
        health.last_success = when
        health.failing_since = None

    def failure(self, name: str, when: datetime, error: str) -> None:
        health = self.source(name)
        health.last_error = error
        health.last_error_at = when
        if health.failing_since is None:
            health.failing_since = when

    def stream(self, name: str) -> StreamHealth:
        if name not in self.streams:
            self.streams[name] = StreamHealth(name)
        return self.streams[name]

    def set_stale(self, stale: dict[str, datetime | None]) -> None:
        self.stale = dict(stale)

    def is_fresh(self, symbol: str) -> bool:
        """False for a stale or never-updated series, and before any collector runs."""
        return self.collecting and symbol not in self.stale
