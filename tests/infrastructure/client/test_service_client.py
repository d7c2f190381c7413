"""The gateway's client runtime over HTTP with a service token and ``reveal=True``: it
gets the real provider keys (loaded and followed) without the secret key or a database,
every reveal is recorded with where it came from, nothing plaintext lands on disk, and a
token that may not reveal is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.address import Address
from domain.areas import ProviderConfig, RouterConfig
from domain.entry import Provenance
from domain.errors import PermissionDeniedError, SettingsError
from infrastructure.auth import TokenService
from infrastructure.client import connect
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from infrastructure.store.reveals import RevealQuery, reveal_log
from tests.infrastructure.http import test_server
from tests.infrastructure.http.server_support import Server

WHO = Provenance(actor="writer", source="cli", correlation_id="service-client")
OPENAI = Address("prod", "provider", "openai")
serve = test_server.serve  # a real `conduit-config serve` on this test's schema


def provider(key: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "k", "api_key": key, "is_primary": True}]}


def api_key(config: ProviderConfig | None) -> str:
    assert config is not None
    return config.keys[0].api_key.get_secret_value()


def test_gateway_gets_real_keys_over_http_and_each_reveal_is_recorded(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    tokens = TokenService(store=store)
    scope = ["prod:provider,model_mapping"]
    token = tokens.create("gateway", role="service", scopes=scope, provenance=WHO).token
    store.set(OPENAI, provider("sk-live-1"), provenance=WHO)
    store.set(Address("prod", "router", "default"), {"max_retries": 4}, provenance=WHO)
    server: Server = serve()
    home = tmp_path / "gateway-home"
    settings = make_settings(secret_key=None, home=home)  # the gateway holds no key
    with connect(
        "prod", settings=settings, url=server.url, token=token, environ={}, reveal=True
    ) as client:
        providers = client.manager(ProviderConfig)
        assert api_key(providers.get("openai")) == "sk-live-1"
        assert client.manager(RouterConfig).current == RouterConfig()  # not in its scope
        written = store.set(OPENAI, provider("sk-live-2"), provenance=WHO)
        client.wait_for(written.position, 20)
        assert api_key(providers.get("openai")) == "sk-live-2"
        assert client.status().connected
    records = reveal_log(store).query(RevealQuery())
    assert [(r.version, r.via) for r in records] == [(2, "stream"), (1, "client")]
    assert {(r.actor, r.role, r.origin, r.environment, r.area, r.key) for r in records} == {
        ("gateway", "service", "127.0.0.1", "prod", "provider", "openai")
    }
    assert not (home / "last-known-good").exists()  # no plaintext keys on disk


def test_a_token_that_may_not_reveal_is_refused(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    tokens = TokenService(store=store)
    store.set(OPENAI, provider("sk-live-1"), provenance=WHO)
    server: Server = serve()
    settings = make_settings(home=tmp_path / "home")
    for name, role, scopes in [
        ("reader", "reader", None),
        ("writer", "writer", None),
        ("elsewhere", "service", ["staging"]),
    ]:
        token = tokens.create(name, role=role, scopes=scopes, provenance=WHO).token
        options: dict[str, Any] = {"settings": settings, "environ": {}, "token": token}
        with pytest.raises(PermissionDeniedError):
            connect("prod", url=server.url, reveal=True, last_known_good=None, **options)
    assert reveal_log(store).query(RevealQuery()) == []


def test_a_revealing_client_keeps_no_copy_on_disk(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match="last-known-good"):
        connect(
            "prod",
            settings=make_settings(),
            url="http://127.0.0.1:1",
            token="cct_x." + "x" * 43,
            reveal=True,
            last_known_good=tmp_path / "prod.json",
        )
