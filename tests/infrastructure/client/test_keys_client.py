"""The client runtime never hands out a secret it cannot open: with a wrong key, no
key, or a server that redacts secrets, the entry is unavailable and says why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.address import Address
from domain.areas import FeatureFlag
from domain.entry import Provenance
from domain.stored import StoredValueError
from infrastructure.auth import TokenService
from infrastructure.client import connect
from infrastructure.crypto import decode_key, generate_key, key_id
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY, StoreOpener
from tests.infrastructure.client.conftest import ClientFor
from tests.infrastructure.http import test_server

WHO = Provenance(actor="writer", source="cli", correlation_id="keys-client")
OPENAI = Address("prod", "provider", "openai")
PLAIN = "sk-client-keys-0007"
OLD_ID = key_id(decode_key(TEST_SECRET_KEY, source="t"))
serve = test_server.serve


def provider(api_key: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "k", "api_key": api_key}]}


def _seed(store: ConfigStore) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    store.set(Address("prod", "feature_flag", "f"), {"enabled": True}, provenance=WHO)


def _unavailable(client: Any, needle: str) -> None:
    assert client.get("provider", "openai") is None
    assert client.manager(FeatureFlag).get("f") == FeatureFlag(enabled=True)
    status = client.status()
    assert [p.entry for p in status.problems] == ["provider/openai"]
    assert needle in status.problems[0].reason
    assert "enc:" not in status.problems[0].reason
    with pytest.raises(StoredValueError, match=needle):
        client.effective("provider", "openai")


def test_a_wrong_key_makes_the_entry_unavailable_never_sealed(
    store: ConfigStore, client_for: ClientFor, make_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    """The reproduction: the runtime handed out ``enc:…`` as the API key."""
    _seed(store)
    wrong = make_settings(secret_key=generate_key(), home=tmp_path / "w")
    _unavailable(client_for("prod", settings=wrong), f"sealed with key {OLD_ID}")


def test_no_key_makes_the_entry_unavailable(
    store: ConfigStore, client_for: ClientFor, make_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    _seed(store)
    keyless = make_settings(secret_key=None, home=tmp_path / "n")
    _unavailable(client_for("prod", settings=keyless), "CONDUIT_CONFIG_SECRET_KEY")


def test_a_rotated_ring_serves_old_and_new_secrets(
    store: ConfigStore,
    open_test_store: StoreOpener,
    client_for: ClientFor,
    make_settings: Callable[..., Settings],
    tmp_path: Any,
) -> None:
    _seed(store)
    new = generate_key()
    other = Address("prod", "provider", "groq")
    with open_test_store(
        secret_key=new, retired_secret_keys=TEST_SECRET_KEY, new_secret_key=True
    ) as rotated:
        rotated.set(other, provider("sk-new-key"), provenance=WHO)
    ring = make_settings(secret_key=new, retired_secret_keys=TEST_SECRET_KEY, home=tmp_path / "r")
    client = client_for("prod", settings=ring)
    assert client.get("provider", "openai").keys[0].api_key.get_secret_value() == PLAIN  # type: ignore[union-attr]
    assert client.get("provider", "groq").keys[0].api_key.get_secret_value() == "sk-new-key"  # type: ignore[union-attr]
    assert client.status().problems == ()
    only_new = make_settings(secret_key=new, home=tmp_path / "o")
    _unavailable(client_for("prod", settings=only_new), f"sealed with key {OLD_ID}")


def test_a_redacted_secret_over_http_is_never_served_as_the_key(
    serve: Any, store: ConfigStore, make_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    _seed(store)
    token = TokenService(store=store).create("dash", role="reader", provenance=WHO).token
    server = serve()
    with connect(
        "prod",
        settings=make_settings(),
        url=server.url,
        token=token,
        environ={},
        last_known_good=tmp_path / "prod.json",
    ) as client:
        _unavailable(client, "arrived redacted")
