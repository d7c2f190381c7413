"""The server's threads: its read cache's follower and, when it follows the log, its part
in the cluster and the watch that wakes its change streams."""

from __future__ import annotations

from infrastructure.cluster.duties import Follower, RestartingLoop, stop_all
from infrastructure.cluster.node import ClusterNode, ClusterOptions
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.http.changes import ChangeFeed
from infrastructure.http.metrics import ClusterSample
from infrastructure.http.readcache import ReadCache
from infrastructure.store import ConfigStore

#: Seconds the server's threads get to stop on shutdown, all together.
STOP_SECONDS = 1.0


class Background:
    """Starts and stops the server's threads: the read cache's follower and, with
    ``follow``, a :class:`ClusterNode` (which competes for leadership; the leader runs
    the ``mirror``) and the watch that wakes the change ``feed``."""

    def __init__(
        self,
        *,
        store: ConfigStore,
        readcache: ReadCache,
        feed: ChangeFeed,
        registry: InstanceRegistry,
        instance_timeout: float,
        follow: bool,
        cluster: ClusterOptions,
        mirror: Follower | None,
    ) -> None:
        self._store = store
        self._readcache = readcache
        self._feed = feed
        self._registry = registry
        self._instance_timeout = instance_timeout
        self._follow = follow
        self._cluster = cluster
        self._mirror = mirror
        self._node: ClusterNode | None = None
        self._tasks: list[RestartingLoop | ClusterNode] = []

    @property
    def node(self) -> ClusterNode | None:
        """The cluster node once :meth:`start` made it (``None`` without ``follow``)."""
        return self._node

    def start(self) -> None:
        """Start following the log; with ``follow``, join the cluster."""
        store, feed = self._store, self._feed
        self._readcache.start()
        if self._follow:
            self._node = ClusterNode(
                store=store,
                options=self._cluster,
                kind="serve",
                applied=self._readcache.applied,
                mirror=self._mirror,
            )
            watch = RestartingLoop(
                "projection-watch",
                lambda stop: store.projections.watch(store.database_url, stop, feed.notify),
            )
            self._tasks = [watch, self._node]
        for task in self._tasks:
            task.start()

    def stop(self) -> None:
        """Stop every thread at once, waiting :data:`STOP_SECONDS` at most: one stuck
        on an unreachable database must not hold up the shutdown."""
        stops = [task.stop for task in self._tasks] + [self._readcache.stop]
        stop_all(stops, timeout=STOP_SECONDS)

    def sample(self) -> ClusterSample:
        """What the cluster gauges of ``/metrics`` show."""
        node = self._node
        return ClusterSample(
            leader=node.role == "leader" if node is not None else None,
            instances=self._registry.instances(timeout_seconds=self._instance_timeout),
            alert_lag=self._cluster.duties.lag_alert_events,
        )
