"""Prometheus metrics of one app (its own registry, so several apps can share a process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.cluster.registry import InstanceInfo
from infrastructure.projection.runner import ProjectionStatus

log = logging.getLogger("conduit_config.http")
_WRITE_METHODS = {"PUT", "PATCH", "DELETE", "POST"}


class _LagCollector(Collector):
    """Reads the projections' lag when scraped."""

    def __init__(self, status: Callable[[], list[ProjectionStatus]]) -> None:
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "conduit_config_projection_lag_events",
            "Events in the log not yet applied by the projection",
            labels=["projection"],
        )
        try:
            statuses = self._status()
        except Exception:
            statuses = []
        for status in statuses:
            family.add_metric([status.name], status.lag)
        yield family


class _RevealCollector(Collector):
    """Counts the recorded secret reveals by role when scraped: read from the reveal
    table, so every instance shows the same totals, CLI reveals included."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        try:
            counts = self._counts()
        except Exception:  # a scrape must not fail: the counter is left out this time
            log.debug("counting the recorded reveals failed", exc_info=True)
            return
        family = CounterMetricFamily(
            "conduit_config_secret_reveals",
            "Entry versions whose secrets were shown in plaintext, by role (every instance)",
            labels=["role"],
        )
        for role, count in sorted(counts.items()):
            family.add_metric([role], count)
        yield family


@dataclass(frozen=True)
class ClusterSample:
    """What the cluster gauges show: this instance's role and every instance's lag."""

    leader: bool | None
    instances: list[InstanceInfo]
    alert_lag: int


class _ClusterCollector(Collector):
    """Reads the instance registry when scraped."""

    def __init__(self, sample: Callable[[], ClusterSample]) -> None:
        self._sample = sample

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            sample = self._sample()
        except Exception:  # a scrape must not fail: the gauges are left out this time
            log.debug("reading the instance registry failed", exc_info=True)
            return
        if sample.leader is not None:
            yield GaugeMetricFamily(
                "conduit_config_leader", "1 while this instance is the leader", int(sample.leader)
            )
        lag = GaugeMetricFamily(
            "conduit_config_instance_lag_events",
            "Events in the log not yet applied by a live instance",
            labels=["instance", "role"],
        )
        live = [i for i in sample.instances if i.alive]
        for info in live:
            lag.add_metric([info.id, info.role], info.lag)
        yield lag
        yield GaugeMetricFamily(
            "conduit_config_lagging_instances",
            "Live instances more events behind than CONDUIT_CONFIG_LAG_ALERT_EVENTS",
            sum(1 for i in live if i.lag > sample.alert_lag),
        )
        yield GaugeMetricFamily(
            "conduit_config_dead_instances",
            "Registered instances whose heartbeat stopped",
            len(sample.instances) - len(live),
        )


class Metrics:
    """Request counters and latencies, writes and conflicts, projection lag."""

    def __init__(
        self,
        *,
        status: Callable[[], list[ProjectionStatus]],
        cluster: Callable[[], ClusterSample] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "conduit_config_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "conduit_config_http_request_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
            registry=self.registry,
        )
        self.writes = Counter(
            "conduit_config_writes", "Successful HTTP writes", ["route"], registry=self.registry
        )
        self.conflicts = Counter(
            "conduit_config_conflicts",
            "Writes refused for a stale version (409/412)",
            registry=self.registry,
        )
        self.registry.register(_LagCollector(status))
        if cluster is not None:
            self.registry.register(_ClusterCollector(cluster))

    def count_reveals(self, counts: Callable[[], dict[str, int]]) -> None:
        """Show ``conduit_config_secret_reveals_total{role}`` from ``counts`` (by role)."""
        self.registry.register(_RevealCollector(counts))

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if method in _WRITE_METHODS and 200 <= status < 300:
            self.writes.labels(route).inc()
        elif status in (409, 412):
            self.conflicts.inc()


class MetricsMiddleware:
    """Times every HTTP request and labels it by its route template."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)
