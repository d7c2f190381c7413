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
from domain.errors import SecretKeyError
from domain.scheduling import sealed_change_value
from domain.secret_views import redact
from domain.secrets import seal_secrets
from domain.values import validate_sparse
from infrastructure.crypto import AesGcmCodec, decode_key, generate_key, key_id
from infrastructure.errors import StorageError
from infrastructure.store import ConfigStore, keyguard
from infrastructure.store.reveals import Revealed, Revealer, reveal_log
from tests.conftest import TEST_SECRET_KEY, StoreOpener
from tests.infrastructure.test_keys import OPENAI, WHO, head, known, provider

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


@pytest.mark.parametrize("hook", ["environment_at", "_stale"])
def test_rekey_never_seals_under_a_key_retired_while_it_plans(
    store: ConfigStore,
    open_test_store: StoreOpener,
    db: psycopg.Connection[Any],
    schema: str,
    hook: str,
) -> None:
    # Was: rekey checked once that its key was current, then sealed with the raw
    # keyring: a rotation landing between that check and the write left every re-sealed
    # secret under a key the store had just retired. The rotation is made to land there:
    # before planning (environment_at) or while planning, before sealing (_stale).
    store.set(OPENAI, provider("sk-before-rekey"), provenance=WHO)
    new = generate_key()
    new_id = key_id(decode_key(new, source="t"))
    table = f'"{schema}".cc_secret_keys'
    with open_test_store(secret_key=new, retired_secret_keys=TEST_SECRET_KEY) as rotated:
        rotated.rekey("staging", provenance=WHO, new_key=True)  # the rotation to `new`
        original = getattr(rotated, hook)

        def rotation_lands(*args: Any, **kwargs: Any) -> Any:
            db.execute(f"UPDATE {table} SET retired_at = now() WHERE retired_at IS NULL")
            db.execute(
                f"INSERT INTO {table} (key_id, recorded_by) VALUES ('0123456789abcdef', 't')"
            )
            return original(*args, **kwargs)

        events = head(db, schema)
        setattr(rotated, hook, rotation_lands)
        with pytest.raises(SecretKeyError, match=f"id {new_id}\\) was retired"):
            rotated.rekey("default", provenance=WHO)
        assert head(db, schema) == events  # nothing sealed under the retired key
        assert known(db, schema)[new_id] is True
