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
from infrastructure.cluster.duties import Follower
from infrastructure.cluster.node import ClusterOptions
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.console import console_app
from infrastructure.console.diagnostics_data import RecentErrors
from infrastructure.console.errors import too_large_page
from infrastructure.console.security import ConsoleState, LoginThrottle
from infrastructure.console.sessions import ConsoleSessions
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
from infrastructure.http.background import Background
from infrastructure.http.bodies import BodyLimit
from infrastructure.http.changes import ChangeFeed
from infrastructure.http.common import refuse_nul
from infrastructure.http.metrics import Metrics, MetricsMiddleware
from infrastructure.http.readcache import ReadCache
from infrastructure.http.readiness import ReadinessCheck
from infrastructure.http.services import AppServices, services_of
from infrastructure.options import from_setting, options_from
from infrastructure.settings import Settings
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


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def _hours(value: int) -> timedelta:
    return timedelta(hours=value)


@dataclass(frozen=True)
class HttpOptions:
    """Server behaviour taken from settings (:meth:`from_settings`); each default is
    the setting's default."""

    require_if_match: bool = from_setting("http_require_if_match")
    max_body_bytes: int = from_setting("http_max_body_bytes")
    ready_max_lag: int = from_setting("ready_max_lag")
    read_cache_size: int = from_setting("http_read_cache_size")
    instance_timeout_seconds: float = from_setting("instance_timeout_seconds")
    #: The console's sessions end after this long unused, and this long after sign-in.
    #: (``from_setting`` makes a ``field()``: no default object is shared by calls.)
    console_idle: timedelta = from_setting("console_idle_minutes", _minutes)  # noqa: RUF009
    console_lifetime: timedelta = from_setting("console_lifetime_hours", _hours)  # noqa: RUF009
    #: Failed console sign-ins a minute from one address before the form answers 429.
    console_signin_failures: int = from_setting("console_signin_failures")
    #: Seconds the read cache's log follower waits for a database connection.
    connect_timeout: int = from_setting("connect_timeout")

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpOptions:
        """The server's behaviour from ``settings`` (the HTTP and console variables)."""
        return options_from(cls, settings)


def create_app(
    *,
    store: ConfigStore,
    tokens: TokenService,
    options: HttpOptions | None = None,
    follow: bool = True,
    cluster: ClusterOptions | None = None,
    mirror: Follower | None = None,
    settings: Settings | None = None,
    recent_errors: RecentErrors | None = None,
) -> FastAPI:
    """The HTTP API over ``store``. With ``follow`` the server joins the cluster: it
    competes for leadership (the leader runs the projections, the scheduler and the
    ``mirror``), reports heartbeats and wakes its change streams as the log moves.
    ``settings`` and ``recent_errors`` are for the console's diagnostics (shown masked).
    Every service is built here, before any route (:class:`AppServices`)."""
    app = FastAPI(
        title="Conduit Config",
        version="1",
        summary="Event-sourced configuration store of the Conduit LLM gateway",
        lifespan=_lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    opts = options or HttpOptions()
    feed, registry = ChangeFeed(), InstanceRegistry(datastore=store.app.datastore)
    cache = ReadCache(store=store, size=opts.read_cache_size, connect_timeout=opts.connect_timeout)
    background = Background(
        store=store,
        readcache=cache,
        feed=feed,
        registry=registry,
        instance_timeout=opts.instance_timeout_seconds,
        follow=follow,
        cluster=cluster or ClusterOptions(),
        mirror=mirror,
    )
    services = AppServices(
        store=store,
        tokens=tokens,
        options=opts,
        feed=feed,
        registry=registry,
        readcache=cache,
        background=background,
        metrics=_metrics(store, background),
        readiness=ReadinessCheck(
            check=lambda: system.readiness(app), down=lambda: store.app.health.down
        ),
        console=_console(store, opts),
        mirror=mirror,
        settings=settings,
        recent_errors=recent_errors,
    )
    app.state.services = services
    _assemble(app, opts, services.metrics)
    return app


def _assemble(app: FastAPI, options: HttpOptions, metrics: Metrics) -> None:
    """The routes, the console at ``/ui``, error answers and the middleware."""
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    # The operator console: cookie sessions, no bearer.
    app.mount("/ui", console_app(app))
    app.add_middleware(
        BodyLimit, limit=options.max_body_bytes, forms_under="/ui/", forms_too_large=too_large_page
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Binds the change feed to the server's loop and runs the background threads."""
    services = services_of(app)
    services.feed.bind(asyncio.get_running_loop())
    services.background.start()
    try:
        yield
    finally:
        services.background.stop()


def _metrics(store: ConfigStore, background: Background) -> Metrics:
    """The metrics of ``/metrics``, with the reveals the store has counted."""
    metrics = Metrics(status=store.projection_status, cluster=background.sample)
    metrics.count_reveals(reveal_log(store).counts)
    return metrics


def _console(store: ConfigStore, options: HttpOptions) -> ConsoleState:
    """The console's sessions and sign-in throttle, as ``options`` set them."""
    sessions = ConsoleSessions(
        store.index.datastore, idle=options.console_idle, lifetime=options.console_lifetime
    )
    return ConsoleState(sessions, LoginThrottle(limit=options.console_signin_failures))
