"""Builds the FastAPI app around one store: routers, problem+json errors, the body
limit, metrics, and the instance's part in the cluster."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.auth import TokenService
from infrastructure.cluster.duties import Follower
from infrastructure.cluster.node import ClusterNode, ClusterOptions
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.http import (
    changes,
    entries,
    environments,
    problems,
    scheduled,
    snapshots,
    system,
    writes,
)
from infrastructure.http import (
    cluster as cluster_api,
)
from infrastructure.http.changes import ChangeFeed
from infrastructure.http.common import refuse_nul
from infrastructure.http.metrics import ClusterSample, Metrics, MetricsMiddleware
from infrastructure.http.readcache import ReadCache
from infrastructure.store import ConfigStore

log = logging.getLogger("conduit_config.http")
#: Every route of the API, in the order of the OpenAPI document.
ROUTERS = tuple(
    module.router
    for module in (
        entries,
        writes,
        environments,
        snapshots,
        changes,
        system,
        cluster_api,
        scheduled,
    )
)
FOLLOWER_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class HttpOptions:
    """Server behaviour taken from settings."""

    require_if_match: bool = False
    max_body_bytes: int = 1_048_576
    ready_max_lag: int = 10_000
    read_cache_size: int = 10_000
    instance_timeout_seconds: float = 10.0


class BodyLimit:
    """Answers 413 for a body over the limit (declared or streamed) and 415 for a body
    that is not JSON, before any handler reads it."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._too_large(scope, receive, send, declared.isdigit())
            return
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if int(declared) and kind and kind != b"application/json" and not kind.endswith(b"+json"):
            response = problems.problem(
                415, f"send JSON (Content-Type: application/json), not {kind.decode('latin-1')}"
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLargeError
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLargeError:
            await self._too_large(scope, receive, send, True)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, valid: bool) -> None:
        detail = f"the request body is over {self.limit} bytes" if valid else "bad Content-Length"
        response = problems.problem(413 if valid else 400, detail)
        await response(scope, receive, send)


class _TooLargeError(Exception):
    pass


class _Watch:
    """Wakes the change streams whenever any instance moves the projections."""

    def __init__(self, store: ConfigStore, feed: ChangeFeed) -> None:
        self._store = store
        self._feed = feed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._store.projections.watch(
                    self._store.database_url, self._stop, self._feed.notify
                )
            except Exception as exc:
                log.warning("projection watch: %s; retrying", type(exc).__name__)
                self._stop.wait(FOLLOWER_RETRY_SECONDS)


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
    feed = ChangeFeed()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        feed.bind(asyncio.get_running_loop())
        cache = ReadCache(store=store, size=opts.read_cache_size)
        app.state.readcache = cache
        cache.start()
        background: list[_Watch | ClusterNode] = []
        if follow:
            background = [
                _Watch(store, feed),
                ClusterNode(
                    store=store,
                    options=cluster_opts,
                    kind="serve",
                    applied=cache.applied,
                    mirror=mirror,
                ),
            ]
            app.state.node = background[-1]
        for task in background:
            task.start()
        try:
            yield
        finally:
            for task in reversed(background):
                task.stop()
            cache.stop()

    app = FastAPI(
        title="Conduit Config",
        version="1",
        summary="Event-sourced configuration store of the Conduit LLM gateway",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
    )
    opts = options or HttpOptions()
    app.state.store, app.state.tokens, app.state.options = store, tokens, opts
    app.state.feed = feed
    app.state.node = None
    cluster_opts = cluster or ClusterOptions()

    def cluster_sample() -> ClusterSample:
        node = app.state.node
        registry = InstanceRegistry(datastore=store.app.datastore)
        return ClusterSample(
            leader=node.role == "leader" if node is not None else None,
            instances=registry.instances(timeout_seconds=opts.instance_timeout_seconds),
            alert_lag=cluster_opts.duties.lag_alert_events,
        )

    app.state.metrics = Metrics(status=store.projection_status, cluster=cluster_sample)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=opts.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
