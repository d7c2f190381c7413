"""The client runtime and a stored value that today's rules refuse or that cannot be
decoded: ``connect()`` serves the other entries and reports the bad ones (never
defaults, never a secret's ciphertext in its place), the follower keeps going past a
row that does not decode, and the last-known-good copy keeps the picture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.address import Address
from domain.areas import FeatureFlag
from domain.stored import StoredValueError
from infrastructure.auth import TokenService
from infrastructure.client import connect
from infrastructure.crypto import generate_key
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener
from tests.infrastructure.client.conftest import UNREACHABLE_URL, ClientFor
from tests.infrastructure.http import test_server
from tests.infrastructure.test_projections import who
from tests.stored_support import nested, not_an_object, write_unchecked

serve = test_server.serve  # a real `conduit-config serve` on this test's schema
BAD = ["feature_flag/torn", "provider/openai", "router/default", "virtual_key/deep"]


def _entry(key: str) -> Address:
    return Address("prod", "feature_flag", key)


def _fill(store: ConfigStore, open_test_store: StoreOpener) -> None:
    """Good flags and one bad entry of each kind."""
    write_unchecked(
        store,
        Address("prod", "virtual_key", "deep"),
        {"key_hash": "a" * 64, "metadata": nested(300)},
    )
    write_unchecked(store, Address("prod", "router", "default"), {"max_retries": 50})
    write_unchecked(store, _entry("torn"), {"enabled": True}, encode=not_an_object)
    with open_test_store(secret_key=generate_key()) as other:
        value = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-OTHER-KEY"}]}
        other.set(Address("prod", "provider", "openai"), value, provenance=who())
    store.set(_entry("a"), {"enabled": True}, provenance=who())


def _problems(client: object) -> list[str]:
    status = client.status()  # type: ignore[attr-defined]
    return [p.entry for p in status.problems]


def test_connect_serves_the_rest_and_reports_the_bad_entries(
    store: ConfigStore, open_test_store: StoreOpener, client_for: ClientFor
) -> None:
    _fill(store, open_test_store)
    client = client_for("prod")
    assert client.manager(FeatureFlag).get("a") == FeatureFlag(enabled=True)
    assert list(client.manager(FeatureFlag).all()) == ["a"]
    for area, key in (("virtual_key", "deep"), ("provider", "openai"), ("feature_flag", "torn")):
        assert client.get(area, key) is None
    assert client.get("router") is None  # not the defaults in place of the stored value
    with pytest.raises(StoredValueError, match="max_retries"):
        client.effective("router")
    assert _problems(client) == BAD


def test_the_copy_keeps_the_picture(
    store: ConfigStore,
    open_test_store: StoreOpener,
    client_for: ClientFor,
    make_settings: Callable[..., Settings],
    client_home: Path,
) -> None:
    _fill(store, open_test_store)
    client_for("prod").close()  # writes the last-known-good copy
    offline = make_settings(home=client_home, database_url=UNREACHABLE_URL, connect_timeout=1)
    with connect("prod", settings=offline, environ={}) as client:
        assert client.status().stale
        assert list(client.manager(FeatureFlag).all()) == ["a"]
        assert client.get("router") is None
        assert _problems(client) == BAD


def test_following_goes_on_past_bad_values(store: ConfigStore, client_for: ClientFor) -> None:
    store.set(_entry("a"), {"enabled": True}, provenance=who())
    client = client_for("prod")
    deep = write_unchecked(store, _entry("a"), {"enabled": True, "description": nested(300)})
    torn = write_unchecked(store, _entry("b"), {"enabled": True}, encode=not_an_object)
    last = store.set(_entry("c"), {"rollout_percent": 3}, provenance=who()).position
    client.wait_for(last)
    assert client.position >= last > torn > deep
    assert list(client.manager(FeatureFlag).all()) == ["c"]
    assert _problems(client) == ["feature_flag/a", "feature_flag/b"]
    repaired = store.set(_entry("a"), {"rollout_percent": 9}, provenance=who()).position
    client.wait_for(repaired)
    assert client.manager(FeatureFlag).get("a") == FeatureFlag(rollout_percent=9)
    assert _problems(client) == ["feature_flag/b"]


def test_over_http_the_server_names_what_it_left_out(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    token = TokenService(store=store).create("svc", role="reader", provenance=who()).token
    write_unchecked(store, Address("prod", "router", "default"), {"max_retries": 50})
    store.set(_entry("a"), {"enabled": True}, provenance=who())
    server = serve()
    settings = make_settings()
    with connect(
        "prod", settings=settings, url=server.url, token=token, environ={}, last_known_good=None
    ) as client:
        assert list(client.manager(FeatureFlag).all()) == ["a"]
        assert client.get("router") is None
        assert _problems(client) == ["router/default"]
        write_unchecked(store, _entry("b"), {"enabled": True, "description": nested(300)})
        last = store.set(_entry("c"), {"enabled": False}, provenance=who()).position
        client.wait_for(last, 20)
        assert list(client.manager(FeatureFlag).all()) == ["a", "c"]
        assert _problems(client) == ["feature_flag/b", "router/default"]
