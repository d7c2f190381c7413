"""Secrets attacked at the store (an adversarial review of issue 14): an unlucky operator's
locked reveal table, and other ways a secret could be shown or kept where it must not."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal

import psycopg
import pytest
from pydantic import BaseModel, SecretStr

from domain.address import Address
from domain.areas.base import AreaModel
from domain.errors import SecretKeyError, StorageError
from domain.scheduling import sealed_change_value
from domain.secrets import redact, seal_secrets
from domain.values import validate_sparse
from infrastructure.crypto import AesGcmCodec, decode_key, generate_key, key_id
from infrastructure.store import ConfigStore, keyguard
from infrastructure.store.reveals import Revealed, Revealer, reveal_log
from tests.conftest import StoreOpener
from tests.infrastructure.test_keys import OPENAI, WHO, known, provider

GATEWAY = Revealer(actor="gateway", role="service", origin="10.0.0.7", via="get")


def test_a_reveal_whose_table_stays_locked_fails_closed_instead_of_hanging(
    store: ConfigStore, database_url: str, schema: str
) -> None:
    # Was: the INSERT waited for the lock as long as it was held (a request thread per
    # reveal, each hanging); now it gives up like an append does and nothing is revealed.
    with psycopg.connect(database_url) as holder:
        holder.execute(f'LOCK TABLE "{schema}".cc_reveals IN ACCESS EXCLUSIVE MODE')
        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(
                reveal_log(store).record, GATEWAY, [Revealed("prod", "provider", "openai", 1)]
            )
            try:
                # Far beyond the lock timeout: only a wait that never ends reaches it.
                with pytest.raises(StorageError, match="could not record the reveal"):
                    done.result(timeout=120)
            finally:
                holder.rollback()  # never leave the worker waiting on a failed assertion


def test_two_processes_left_with_new_secret_key_do_not_retire_each_other_in_turn(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str, monkeypatch: Any
) -> None:
    # Was: each process, told its key is new, took the store back every time it checked
    # again (every 5 s), retiring the other's key: secrets sealed under both keys by
    # turns, and nothing said so.
    monkeypatch.setattr(keyguard, "RECHECK_SECONDS", 0.0)
    first_key, second_key = generate_key(), generate_key()
    second_id = key_id(decode_key(second_key, source="t"))
    with (
        open_test_store(secret_key=first_key, new_secret_key=True) as first,
        open_test_store(secret_key=second_key, new_secret_key=True) as second,
    ):
        first.set(OPENAI, provider("sk-first"), provenance=WHO)
        second.set(OPENAI, provider("sk-second"), provenance=WHO)  # the rotation: it wins
        with pytest.raises(SecretKeyError) as refused:
            first.set(OPENAI, provider("sk-first-again"), provenance=WHO)
        message = str(refused.value)
        assert f"retired from this store (current: {second_id})" in message
        assert "CONDUIT_CONFIG_NEW_SECRET_KEY" in message and "another process" in message
        assert known(db, schema)[second_id] is False  # still current
        assert first.get(OPENAI).version == 2  # nothing appended
        # Told explicitly (rekey --new-key), the first process does take the store back.
        first.rekey("default", provenance=WHO, new_key=True)
        assert known(db, schema)[second_id] is True


class _Secretive(BaseModel):
    kind: Literal["secret"]
    token: SecretStr


class _Plain(BaseModel):
    kind: Literal["plain"]
    token: str


class _Choice(AreaModel):
    """A user area whose ``item`` is one of two models, only one of them secret."""

    area_name: ClassVar[str] = "choice"
    item: _Secretive | _Plain | None = None
    either: list[SecretStr | str] = []


def _sealed(value: dict[str, Any]) -> dict[str, Any]:
    codec = AesGcmCodec(key=decode_key(generate_key(), source="t"))
    instance, sparse = validate_sparse(_Choice, value, key="k")
    return seal_secrets(instance, sparse, None, codec)


@pytest.mark.parametrize(
    "value",
    [
        {"item": {"kind": "plain", "token": "sk-PLAIN-MEMBER"}},
        {"either": ["sk-PLAIN-MEMBER"]},
    ],
)
def test_a_place_shown_redacted_is_never_stored_in_plaintext(value: dict[str, Any]) -> None:
    # Was: the schema (any member of a union) made the place secret, so every read showed
    # ********, while sealing followed the member pydantic chose (a plain str) and wrote
    # the plaintext into the event.
    stored = _sealed(value)
    assert "sk-PLAIN-MEMBER" not in json.dumps(stored)
    assert "sk-PLAIN-MEMBER" not in json.dumps(redact(stored, _Choice))
    address = Address("prod", "choice", "k")
    change = sealed_change_value(
        _Choice, address, "patch", value, current=None, codec=AesGcmCodec(key=bytes(32))
    )
    assert "sk-PLAIN-MEMBER" not in json.dumps(change)
