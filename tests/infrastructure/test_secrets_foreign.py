"""A value already sealed, but not with a key of this store's keyring, submitted for a
secret field: bad input naming the field (never the value), nothing appended, by every
way of writing. The store's own key problems stay key errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from domain.address import Address
from domain.document import parse_document
from domain.entry import Provenance
from domain.errors import InvalidValueError, SecretKeyError
from infrastructure.crypto import AesGcmCodec, decode_key, generate_key
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener
from tests.infrastructure.test_keys import head, v1_seal

OPENAI = Address("default", "provider", "openai")
WHO = Provenance(actor="ops", source="api", correlation_id="c-foreign")
MESSAGE = "holds a secret sealed with a key this store does not have"
FOREIGN_V2 = AesGcmCodec(key=decode_key(generate_key(), source="f")).seal("sk-foreign")
FOREIGN_V1 = v1_seal(generate_key(), "sk-foreign-v1")


def provider(*keys: str) -> dict[str, Any]:
    items = [{"name": f"k{i}", "api_key": key} for i, key in enumerate(keys)]
    return {"provider_type": "openai", "keys": items}


def refused_fields(call: Callable[[], object], sealed: str) -> list[str]:
    with pytest.raises(InvalidValueError) as caught:
        call()
    said = str(caught.value)
    assert MESSAGE in said
    assert sealed not in said and sealed.rsplit(":", maxsplit=1)[-1] not in said
    return [e.field for e in caught.value.errors]


@pytest.mark.parametrize(
    "sealed", [FOREIGN_V2, FOREIGN_V1, "enc:v2:XYZ:abc"], ids=["v2", "v1", "bad-key-id"]
)
def test_a_foreign_sealed_value_is_a_field_error_and_nothing_is_appended(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str, sealed: str
) -> None:
    # Was: SecretKeyError naming key ids (HTTP 503, CLI exit 1), as if the store were down.
    store.set(OPENAI, provider("sk-mine"), provenance=WHO)
    before = head(db, schema)
    other = Address("default", "provider", "other")
    assert refused_fields(
        lambda: store.set(other, provider("sk-ok", sealed), provenance=WHO), sealed
    ) == ["keys.1.api_key"]
    patch = {"keys": provider("sk-mine", sealed)["keys"]}
    assert refused_fields(lambda: store.patch(OPENAI, patch, provenance=WHO), sealed) == [
        "keys.1.api_key"
    ]
    document = parse_document({"entries": {"provider": {"other": provider(sealed)}}})
    assert refused_fields(
        lambda: store.apply_document(document, environment="default", provenance=WHO), sealed
    ) == ["entries.provider.other.keys.0.api_key"]
    due = datetime.now(UTC) + timedelta(days=1)
    assert refused_fields(
        lambda: store.schedule_change(other, "set", provider(sealed), due_at=due, provenance=WHO),
        sealed,
    ) == ["keys.0.api_key"]
    assert head(db, schema) == before
    assert store.get(OPENAI).version == 1


def test_a_damaged_sealed_value_is_a_field_error(store: ConfigStore) -> None:
    store.set(OPENAI, provider("sk-mine"), provenance=WHO)
    mine = store.get(OPENAI).stored["keys"][0]["api_key"]
    damaged = mine[:-4] + ("AAAA" if not mine.endswith("AAAA") else "BBBB")
    other = Address("default", "provider", "other")
    assert refused_fields(lambda: store.set(other, provider(damaged), provenance=WHO), damaged) == [
        "keys.0.api_key"
    ]


def test_the_stores_own_key_problems_stay_key_errors(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    store.set(OPENAI, provider("sk-mine"), provenance=WHO)
    mine = store.get(OPENAI).stored["keys"][0]["api_key"]
    with open_test_store(secret_key=None) as keyless, pytest.raises(SecretKeyError):
        keyless.set(Address("default", "provider", "x"), provider(FOREIGN_V2), provenance=WHO)
    with (
        open_test_store(secret_key=generate_key()) as unknown,
        pytest.raises(SecretKeyError, match="is new to this store"),
    ):
        # It opens nothing of the store's: copying the store's own secret is fine input,
        # a plaintext needs a key the store knows.
        unknown.set(Address("default", "provider", "x"), provider("sk-new"), provenance=WHO)
    # The store's own sealed value is accepted as it is.
    copy = Address("default", "provider", "copy")
    store.set(copy, provider(mine), provenance=WHO)
    assert store.get(copy).stored["keys"][0]["api_key"] == mine
