"""The app's services: one typed container, built with the app before any route, shared
by the console mounted at ``/ui``; only the cluster node waits for the app to start."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from infrastructure.auth import TokenService
from infrastructure.console.diagnostics_data import RecentErrors
from infrastructure.http.app import HttpOptions, create_app
from infrastructure.http.services import services_of
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore


def test_every_service_is_built_with_the_app(store: ConfigStore, tokens: TokenService) -> None:
    shown, ring = Settings(ready_max_lag=7), RecentErrors()
    options = HttpOptions(read_cache_size=3)
    app = create_app(
        store=store,
        tokens=tokens,
        options=options,
        follow=False,
        settings=shown,
        recent_errors=ring,
    )
    services = services_of(app)
    assert services.store is store and services.tokens is tokens
    assert services.options is options
    assert services.settings is shown and services.recent_errors is ring
    assert services.mirror is None and services.node is None
    # The read cache exists before the app starts; it reads the log only when it does.
    assert not services.readcache.started
    # Nothing else is kept on the state: every handler goes through the container.
    assert list(vars(app.state)["_state"]) == ["services"]


def test_the_console_shares_the_hosts_services(store: ConfigStore, tokens: TokenService) -> None:
    app = create_app(store=store, tokens=tokens, follow=False)
    (console,) = [r.app for r in app.routes if isinstance(r, Mount) and r.path == "/ui"]
    assert isinstance(console, FastAPI)
    assert services_of(console) is services_of(app)


def test_the_node_exists_once_the_app_runs(store: ConfigStore, tokens: TokenService) -> None:
    app = create_app(store=store, tokens=tokens, follow=True)
    services = services_of(app)
    assert services.node is None
    with TestClient(app) as client:
        assert services.node is not None
        assert client.get("/readyz").json()["role"] in {"leader", "follower"}


def test_an_app_not_built_here_is_refused() -> None:
    app = FastAPI()
    app.state.services = object()
    with pytest.raises(TypeError, match="not AppServices"):
        services_of(app)


def test_an_app_starts_again_after_it_stopped(store: ConfigStore, tokens: TokenService) -> None:
    app = create_app(store=store, tokens=tokens, follow=False)
    cache = services_of(app).readcache
    for _ in range(2):
        with TestClient(app) as client:
            assert cache.started
            assert client.get("/readyz").status_code == 200
            assert cache.applied()[0] == store.index.head()
        assert not cache.started
