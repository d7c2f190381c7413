"""Builds the FastAPI app around one store: routers, problem+json errors, the body
limit, metrics, and the projection follower that feeds the change stream."""

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
from infrastructure.http import (
    changes,
    entries,
    environments,
    problems,
    snapshots,
    system,
    writes,
)
from infrastructure.http.changes import ChangeFeed
from infrastructure.http.common import refuse_nul
from infrastructure.http.metrics import Metrics, MetricsMiddleware
from infrastructure.http.readcache import ReadCache
from infrastructure.store import ConfigStore

log = logging.getLogger("conduit_config.http")
FOLLOWER_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class HttpOptions:
    """Server behaviour taken from settings."""

    require_if_match: bool = False
    max_body_bytes: int = 1_048_576
    ready_max_lag: int = 10_000
    read_cache_size: int = 10_000


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


class _Follower:
    """Keeps the projections current in a thread and wakes the change streams."""

    def __init__(self, store: ConfigStore, feed: ChangeFeed) -> None:
        self._store = store
        self._feed = feed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        runner = self._store.projections
        while not self._stop.is_set():
            try:
                runner.run(self._store.database_url, self._stop, on_batch=self._feed.notify)
            except Exception as exc:
                log.warning("projection follower: %s; retrying", type(exc).__name__)
                self._stop.wait(FOLLOWER_RETRY_SECONDS)


def create_app(
    *,
    store: ConfigStore,
    tokens: TokenService,
    options: HttpOptions | None = None,
    follow: bool = True,
) -> FastAPI:
    """The HTTP API over ``store``; with ``follow`` it runs the projections while it
    serves (the change stream needs them current)."""
    feed = ChangeFeed()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        feed.bind(asyncio.get_running_loop())
        follower = _Follower(store, feed) if follow else None
        cache = ReadCache(store=store, size=opts.read_cache_size)
        app.state.readcache = cache
        cache.start()
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
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
    app.state.metrics = Metrics(status=store.projection_status)
    problems.install(app)
    for module in (entries, writes, environments, snapshots, changes, system):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=opts.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
