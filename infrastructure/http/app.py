"""Builds the FastAPI app around one store: routers, problem+json errors, the body
limit, metrics, and the instance's part in the cluster."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, FastAPI

from infrastructure.auth import TokenService
from infrastructure.cluster.duties import Follower, RestartingLoop, stop_all
from infrastructure.cluster.node import ClusterNode, ClusterOptions
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.console import console_app
from infrastructure.console.errors import too_large_page
from infrastructure.console.security import DEFAULT_SIGNIN_FAILURES
from infrastructure.console.sessions import DEFAULT_IDLE, DEFAULT_LIFETIME
from infrastructure.http import (
    changes,
    entries,
    environment_writes,
    environments,
    problems,
    reveals,
    scheduled,
    snapshots,
    system,
    writes,
)
from infrastructure.http import (
    cluster as cluster_api,
)
from infrastructure.http import keys as keys_api
from infrastructure.http import log as log_api
from infrastructure.http import repair as repair_api
from infrastructure.http import verify as verify_api
from infrastructure.http.bodies import BodyLimit
from infrastructure.http.changes import ChangeFeed
from infrastructure.http.common import refuse_nul
from infrastructure.http.metrics import ClusterSample, Metrics, MetricsMiddleware
from infrastructure.http.readcache import ReadCache
from infrastructure.store import ConfigStore
from infrastructure.store.reveals import reveal_log

log = logging.getLogger("conduit_config.http")
#: Every route of the API, in the order of the OpenAPI document.
ROUTERS = tuple(
    module.router
    for module in (
        entries,
        writes,
        environments,
        environment_writes,
        snapshots,
        changes,
        system,
        cluster_api,
        scheduled,
        keys_api,
        reveals,
        log_api,
        repair_api,
        verify_api,
    )
)


#: Seconds the server's threads get to stop on shutdown, all together.
STOP_SECONDS = 1.0


@dataclass(frozen=True)
class HttpOptions:
    """Server behaviour taken from settings."""

    require_if_match: bool = False
    max_body_bytes: int = 1_048_576
    ready_max_lag: int = 10_000
    read_cache_size: int = 10_000
    instance_timeout_seconds: float = 10.0
    #: The console's sessions end after this long unused, and this long after sign-in.
    console_idle: timedelta = DEFAULT_IDLE
    console_lifetime: timedelta = DEFAULT_LIFETIME
    #: Failed console sign-ins a minute from one address before the form answers 429.
    console_signin_failures: int = DEFAULT_SIGNIN_FAILURES


class _Background:
    """The server's threads: its read cache and, with ``follow``, its part in the
    cluster (a :class:`ClusterNode`) and the watch that wakes its change streams."""

    def __init__(
        self,
        app: FastAPI,
        *,
        follow: bool,
        cluster: ClusterOptions,
        mirror: Follower | None,
    ) -> None:
        self._app = app
        self._follow = follow
        self._cluster = cluster
        self._mirror = mirror
        self._tasks: list[RestartingLoop | ClusterNode] = []

    def start(self) -> None:
        state = self._app.state
        store: ConfigStore = state.store
        cache = ReadCache(store=store, size=state.options.read_cache_size)
        state.readcache = cache
        cache.start()
        if self._follow:
            state.node = ClusterNode(
                store=store,
                options=self._cluster,
                kind="serve",
                applied=cache.applied,
                mirror=self._mirror,
            )
            feed: ChangeFeed = state.feed
            watch = RestartingLoop(
                "projection-watch",
                lambda stop: store.projections.watch(store.database_url, stop, feed.notify),
            )
            self._tasks = [watch, state.node]
        for task in self._tasks:
            task.start()

    def stop(self) -> None:
        """Stop every thread at once, waiting :data:`STOP_SECONDS` at most: one stuck
        on an unreachable database must not hold up the shutdown."""
        stops = [task.stop for task in self._tasks] + [self._app.state.readcache.stop]
        stop_all(stops, timeout=STOP_SECONDS)

    def sample(self) -> ClusterSample:
        """What the cluster gauges of ``/metrics`` show."""
        state = self._app.state
        registry: InstanceRegistry = state.registry
        return ClusterSample(
            leader=state.node.role == "leader" if state.node is not None else None,
            instances=registry.instances(timeout_seconds=state.options.instance_timeout_seconds),
            alert_lag=self._cluster.duties.lag_alert_events,
        )


def create_app(
    *,
    store: ConfigStore,
    tokens: TokenService,
    options: HttpOptions | None = None,
    follow: bool = True,
    cluster: ClusterOptions | None = None,
    mirror: Follower | None = None,
) -> FastAPI:
    """The HTTP API over ``store``. With ``follow`` the server joins the cluster: it
    competes for leadership (the leader runs the projections, the scheduler and the
    ``mirror``), reports heartbeats and wakes its change streams as the log moves."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.feed.bind(asyncio.get_running_loop())
        background.start()
        try:
            yield
        finally:
            background.stop()

    app = FastAPI(
        title="Conduit Config",
        version="1",
        summary="Event-sourced configuration store of the Conduit LLM gateway",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    opts = options or HttpOptions()
    app.state.store, app.state.tokens, app.state.options = store, tokens, opts
    app.state.feed, app.state.node = ChangeFeed(), None
    app.state.registry = InstanceRegistry(datastore=store.app.datastore)
    app.state.mirror = mirror  # the console's dashboard and diagnostics show its status
    background = _Background(app, follow=follow, cluster=cluster or ClusterOptions(), mirror=mirror)
    app.state.metrics = Metrics(status=store.projection_status, cluster=background.sample)
    app.state.metrics.count_reveals(reveal_log(store).counts)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    # The operator console: cookie sessions, no bearer.
    console = console_app(
        app,
        idle=opts.console_idle,
        lifetime=opts.console_lifetime,
        signin_failures=opts.console_signin_failures,
    )
    app.mount("/ui", console)
    app.add_middleware(
        BodyLimit, limit=opts.max_body_bytes, forms_under="/ui/", forms_too_large=too_large_page
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
