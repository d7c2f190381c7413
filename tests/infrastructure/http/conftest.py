"""An in-process HTTP client over a store on a fresh schema, and tokens for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.entry import Provenance
from infrastructure.auth import TokenService
from infrastructure.http.app import HttpOptions, create_app
from infrastructure.store import ConfigStore

SETUP = Provenance(actor="setup", source="cli", correlation_id="test-setup")
Headers = dict[str, str]
TokenMaker = Callable[..., Headers]
ClientMaker = Callable[..., Any]


@pytest.fixture
def tokens(store: ConfigStore) -> TokenService:
    """Token service of the test store; no caching, so revocations apply at once."""
    return TokenService(store=store, cache_seconds=0)


@pytest.fixture
def make_token(tokens: TokenService) -> TokenMaker:
    """``make_token("writer", scopes=["prod:router"])`` -> Authorization headers."""
    counter = iter(range(1_000_000))

    def make(role: str, *, scopes: list[str] | None = None, name: str | None = None) -> Headers:
        issued = tokens.create(
            name or f"{role}-{next(counter)}", role=role, scopes=scopes, provenance=SETUP
        )
        return {"Authorization": f"Bearer {issued.token}"}

    return make


@pytest.fixture
def make_client(store: ConfigStore, tokens: TokenService) -> Iterator[ClientMaker]:
    """``make_client(follow=True, require_if_match=True)`` -> a started TestClient."""
    with ExitStack() as stack:

        def make(*, follow: bool = False, **options: Any) -> TestClient:
            app = create_app(
                store=store, tokens=tokens, options=HttpOptions(**options), follow=follow
            )
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


@pytest.fixture
def client(make_client: ClientMaker) -> TestClient:
    """A client of the default app (no projection follower)."""
    result: TestClient = make_client()
    return result


@pytest.fixture
def admin(make_token: TokenMaker) -> Headers:
    """Headers of an admin token without scopes."""
    return make_token("admin", name="root-admin")
