"""The operator console: server-rendered pages at ``/ui`` over the same store, tokens and
rules as the HTTP API.

:func:`console_app` builds it as its own small app that ``create_app`` mounts at ``/ui``:
it has its own error pages and security headers, no OpenAPI document, and never reads a
bearer token (the API never reads the console's cookie).

Adding a page group: a module in ``pages/`` with ``router = APIRouter()`` and routes
relative to ``/ui`` (``@router.get("/envs/{env}/areas")``). Every such router is included
behind sign-in and the CSRF check (:func:`~infrastructure.console.security.csrf_checked`);
handlers take ``user: SignedIn`` and return
:func:`~infrastructure.console.render.page`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import anyio
from fastapi import APIRouter, Depends, FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.console import errors, pages
from infrastructure.console.security import SecurityHeaders, csrf_checked
from infrastructure.http.common import refuse_nul

STATIC = Path(__file__).resolve().parent / "static"


def page_routers() -> tuple[list[APIRouter], list[APIRouter]]:
    """The ``router`` and the ``public_router`` of every module of ``pages/``, by name."""
    protected: list[APIRouter] = []
    public: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(pages.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pages.__name__}.{info.name}")
        for name, found in (("router", protected), ("public_router", public)):
            router = getattr(module, name, None)
            if isinstance(router, APIRouter):
                found.append(router)
    return protected, public


class HeadAsGet:
    """ASGI middleware answering ``HEAD`` as ``GET`` would (the same sign-in check,
    redirect and headers, ``Content-Length`` included) with no body. FastAPI routes
    take only the methods they name, so without it every page answered 405 to ``HEAD``.
    A streamed answer (the live stream) is stopped after its headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False
        with anyio.CancelScope() as cancel:

            async def headers_only(message: Message) -> None:
                nonlocal done
                if message["type"] == "http.response.start":
                    await send(message)
                elif not done:  # the body (or a pathsend): the answer ends here
                    done = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    if message.get("more_body", False):
                        cancel.cancel()  # a stream would run until the client left

            await self.app({**scope, "method": "GET"}, receive, headers_only)


def console_app(host: FastAPI) -> FastAPI:
    """The console over ``host``'s services, to be mounted at ``/ui``; it shares
    ``host.state``, so page handlers reach the store, the feed, the read cache, the
    cluster node and the console's own sessions and sign-in throttle through
    :func:`~infrastructure.http.services.services_of` as the API's handlers do."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = host.state
    errors.install(app)
    protected, public = page_routers()
    # NUL first, as the API does: PostgreSQL text cannot hold it (400, not a database error).
    for router in public:
        app.include_router(router, dependencies=[Depends(refuse_nul)])
    for router in protected:
        app.include_router(router, dependencies=[Depends(refuse_nul), Depends(csrf_checked)])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    return app
