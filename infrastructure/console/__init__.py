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

from fastapi import APIRouter, Depends, FastAPI
from starlette.staticfiles import StaticFiles

from infrastructure.console import errors, pages
from infrastructure.console.security import (
    ConsoleState,
    LoginThrottle,
    SecurityHeaders,
    csrf_checked,
)
from infrastructure.console.sessions import ConsoleSessions
from infrastructure.http.common import refuse_nul
from infrastructure.store import ConfigStore

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


def console_app(host: FastAPI) -> FastAPI:
    """The console over ``host``'s store and tokens, to be mounted at ``/ui``; it shares
    ``host.state``, so page handlers reach ``request.app.state.store`` (and the feed,
    the read cache and the cluster node) as the API's handlers do."""
    store: ConfigStore = host.state.store
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state = host.state
    host.state.console = ConsoleState(ConsoleSessions(store.index.datastore), LoginThrottle())
    errors.install(app)
    protected, public = page_routers()
    # NUL first, as the API does: PostgreSQL text cannot hold it (400, not a database error).
    for router in public:
        app.include_router(router, dependencies=[Depends(refuse_nul)])
    for router in protected:
        app.include_router(router, dependencies=[Depends(refuse_nul), Depends(csrf_checked)])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
    return app
