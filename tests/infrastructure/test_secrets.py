"""Secret fields: sealed before they enter an event, never in plaintext in any table."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from domain.address import Address
from domain.entry import Provenance
from domain.errors import InvalidValueError, SecretKeyError
from domain.secrets import REDACTED, is_sealed
from infrastructure.crypto import generate_key
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener, dump_schema

OPENAI = Address("default", "provider", "openai")
WHO = Provenance(actor="ops", source="api", correlation_id="c-2")
PLAIN = "sk-live-never-store-me-4b1d"


def provider(api_key: str, *, name: str = "main") -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": name, "api_key": api_key}]}


def test_secret_is_sealed_in_every_table(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    store.patch(OPENAI, {"enabled": False}, provenance=WHO)
    view = store.get(OPENAI)
    sealed = view.stored["keys"][0]["api_key"]
    assert is_sealed(sealed)
    assert store.redacted(view.value, "default", "provider")["keys"][0]["api_key"] == REDACTED
    assert store.revealed(view.value, "default", "provider")["keys"][0]["api_key"] == PLAIN
    everything = dump_schema(db, schema)
    assert "conduitconfig_events" in {
        r[0]
        for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        )
    }
    assert sealed in everything
    assert PLAIN not in everything


def test_unchanged_secret_keeps_ciphertext_and_history_is_quiet(store: ConfigStore) -> None:
    # For a caller who may reveal the secret anyway (admin, the CLI with the key).
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    before = store.get(OPENAI).stored
    again = store.set(OPENAI, provider(PLAIN), provenance=WHO, may_reveal=True)
    assert again.changed is False
    placeholder = store.set(OPENAI, provider(REDACTED), provenance=WHO)
    assert placeholder.changed is False
    assert store.get(OPENAI).stored == before


def test_changed_secret_shows_as_redacted_change(store: ConfigStore) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    store.set(OPENAI, provider("sk-other-key"), provenance=WHO)
    changes = store.redacted_ops(store.history(OPENAI)[-1].changes, "default", "provider")
    assert changes == [{"op": "replace", "path": "/keys/0/api_key", "value": REDACTED}]


def test_placeholder_without_stored_secret_is_invalid(store: ConfigStore) -> None:
    with pytest.raises(InvalidValueError, match=r"keys\.0\.api_key"):
        store.set(OPENAI, provider(REDACTED), provenance=WHO)


def test_secret_without_key_is_a_clear_error(open_test_store: StoreOpener) -> None:
    with open_test_store(secret_key=None) as keyless:
        assert keyless.codec is None
        with pytest.raises(SecretKeyError, match="CONDUIT_CONFIG_SECRET_KEY"):
            keyless.set(OPENAI, provider(PLAIN), provenance=WHO)
        assert keyless.projections.head() == 0


def test_sealed_value_from_another_key_is_refused(
    store: ConfigStore, open_test_store: StoreOpener, schema: str
) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    sealed = store.get(OPENAI).stored["keys"][0]["api_key"]
    with open_test_store(secret_key=generate_key()) as other:
        # A value sealed elsewhere is bad input naming its field (was: a key error, an
        # outage over HTTP); never echoed.
        with pytest.raises(InvalidValueError) as caught:
            other.set(Address("default", "provider", "copy"), provider(sealed), provenance=WHO)
        assert [e.field for e in caught.value.errors] == ["keys.0.api_key"]
        assert "sealed with a key this store does not have" in str(caught.value)
        assert sealed not in str(caught.value)
        with pytest.raises(SecretKeyError):
            other.revealed(other.get(OPENAI).value, "default", "provider")
