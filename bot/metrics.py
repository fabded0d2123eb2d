"""What an operator watches, as Prometheus metrics (prometheus_client); served only if
``METRICS_PORT`` is set.

Usage::

    metrics = Metrics(health)                         # one per bot, its own registry
    metrics.deliveries.labels("sent").inc()           # the sender and the command kit record
    port = metrics.serve(9108, "127.0.0.1")           # GET http://127.0.0.1:9108/metrics

Series (all prefixed ``alertbot_``):

* ``outbox_pending`` — deliveries waiting to be sent (refreshed each second by the sender);
* ``deliveries_total{outcome}`` — ``sent``, ``retried`` (Telegram unreachable or failing),
  ``flood_wait`` (429), ``blocked`` (the chat is gone), ``dropped`` (refused), ``expired``;
* ``alert_delivery_seconds`` — from an alert being decided to its message being accepted;
* ``command_seconds{command}`` — handling a command, reply included;
* ``telegram_reachable``, ``database_writable`` — 1 or 0;
* ``source_up{source}``, ``source_last_success_timestamp_seconds{source}`` and
  ``series_stale{symbol}`` — each data source's health, as ``/status`` tells it.

The HTTP server runs on its own thread and reads only these values (never the database).
"""

from __future__ import annotations

from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.health import HealthRegistry

PREFIX = "alertbot_"
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, float("inf"))
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30, float("inf"))
OUTCOMES = ("sent", "retried", "flood_wait", "blocked", "dropped", "expired")


class Metrics:
    def __init__(self, health: HealthRegistry | None = None) -> None:
        self.registry = CollectorRegistry()
        self.port: int | None = None
        self._server: WSGIServer | None = None
        r = self.registry
        self.outbox_pending = Gauge(PREFIX + "outbox_pending", "Deliveries waiting to be sent", registry=r)
        self.deliveries = Counter(PREFIX + "deliveries", "Deliveries by outcome", ["outcome"], registry=r)
        for outcome in OUTCOMES:
            self.deliveries.labels(outcome)  # every outcome is a series from the start, at 0
        self.alert_latency = Histogram(
            PREFIX + "alert_delivery_seconds",
            "From an alert being decided to its message being accepted by Telegram",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.command_latency = Histogram(
            PREFIX + "command_seconds",
            "Handling a command, reply included",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.telegram_reachable = Gauge(PREFIX + "telegram_reachable", "1 while Telegram answers", registry=r)
        self.telegram_reachable.set(1)
        if health is not None:
            r.register(_HealthCollector(health))

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (0: any free port) from a daemon thread; the port."""
        self._server, _ = start_http_server(port, host, registry=self.registry)
        self.port = int(self._server.server_port)
        return self.port

    def close(self) -> None:
        """Stop serving (the bot is stopping)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _HealthCollector(Collector):
    """Each source's health and each stale series, read from the registry ``/status`` reads."""

    def __init__(self, health: HealthRegistry) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(PREFIX + "source_up", "1 while the data source answers", labels=["source"])
        last = GaugeMetricFamily(
            PREFIX + "source_last_success_timestamp_seconds", "When the data source last answered", labels=["source"]
        )
        sources, stale_since = dict(self.health.sources), dict(self.health.stale)  # copies: the bot goes on
        for name, source in sorted(sources.items()):
            up.add_metric([name], 1.0 if source.up else 0.0)
            if source.last_success is not None:
                last.add_metric([name], source.last_success.timestamp())
        stale = GaugeMetricFamily(PREFIX + "series_stale", "1 for a series too old to alert on", labels=["symbol"])
        for symbol in sorted(stale_since):
            stale.add_metric([symbol], 1.0)
        writable = GaugeMetricFamily(PREFIX + "database_writable", "1 while the database takes writes")
        writable.add_metric([], 0.0 if self.health.storage_failing_since is not None else 1.0)
        yield from (up, last, stale, writable)
