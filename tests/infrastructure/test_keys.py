"""Secret keys: key ids in sealed values, the store's record of known keys, rotation,
rekey, and a key removed from the ring."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.document import parse_document
from domain.entry import Provenance
from domain.errors import SecretKeyError, SettingsError
from infrastructure.bootstrap import secret_codec
from infrastructure.crypto import AesGcmCodec, decode_key, generate_key, key_id
from infrastructure.settings import load_settings
from infrastructure.store import ConfigStore
from infrastructure.store.keyguard import GuardedKeyring
from tests.conftest import TEST_SECRET_KEY, StoreOpener

OPENAI = Address("default", "provider", "openai")
WHO = Provenance(actor="ops", source="api", correlation_id="c-keys")
PLAIN = "sk-live-keys-test-0001"
OLD_ID = key_id(decode_key(TEST_SECRET_KEY, source="test"))


def provider(*keys: str) -> dict[str, Any]:
    items = [{"name": f"k{i}", "api_key": key} for i, key in enumerate(keys)]
    return {"provider_type": "openai", "keys": items}


def api_keys(store: ConfigStore, address: Address = OPENAI, **at: Any) -> list[str]:
    return [k["api_key"] for k in store.get(address, **at).stored["keys"]]


def opened(store: ConfigStore, address: Address = OPENAI, **at: Any) -> list[str]:
    assert store.codec is not None
    return [store.codec.open(sealed) for sealed in api_keys(store, address, **at)]


def head(db: psycopg.Connection[Any], schema: str) -> int:
    table = SQL("{}.conduitconfig_events").format(Identifier(schema))
    row = db.execute(SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    assert row is not None
    return int(row[0])


def known(db: psycopg.Connection[Any], schema: str) -> dict[str, bool]:
    """Recorded key ids -> retired."""
    table = SQL("{}.cc_secret_keys").format(Identifier(schema))
    rows = db.execute(SQL("SELECT key_id, retired_at FROM {}").format(table)).fetchall()
    return {r[0]: r[1] is not None for r in rows}


def v1_seal(key_text: str, plaintext: str) -> str:
    """A value sealed the way releases before key ids did."""
    nonce = secrets.token_bytes(12)
    raw = AESGCM(decode_key(key_text, source="t")).encrypt(
        nonce, plaintext.encode(), b"conduit-config:secret:v1"
    )
    return "enc:v1:" + base64.urlsafe_b64encode(nonce + raw).rstrip(b"=").decode()


# The codec -----------------------------------------------------------------


def test_seal_names_the_current_key_and_opens_by_it() -> None:
    old, new = generate_key(), generate_key()
    ring = AesGcmCodec(key=decode_key(new, source="n"), retired=[decode_key(old, source="o")])
    sealed = ring.seal(PLAIN)
    assert sealed.startswith(f"enc:v2:{ring.current_id}:")
    assert ring.key_id_of(sealed) == ring.current_id == key_id(decode_key(new, source="n"))
    assert ring.ids == (ring.current_id, key_id(decode_key(old, source="o")))
    assert ring.open(sealed) == PLAIN
    assert ring.open(v1_seal(old, PLAIN)) == PLAIN  # v1: tried with every key of the ring
    assert ring.key_id_of(v1_seal(old, PLAIN)) is None


def test_a_key_not_in_the_ring_is_named_never_the_ciphertext() -> None:
    sealer = AesGcmCodec(key=decode_key(generate_key(), source="a"))
    reader = AesGcmCodec(key=decode_key(generate_key(), source="b"))
    sealed = sealer.seal(PLAIN)
    with pytest.raises(SecretKeyError) as caught:
        reader.open(sealed)
    message = str(caught.value)
    assert f"sealed with key {sealer.current_id}, not in this process's keyring" in message
    assert sealed.split(":")[-1] not in message and PLAIN not in message
    with pytest.raises(SecretKeyError, match="enc:v1"):
        reader.open(v1_seal(generate_key(), PLAIN))


def test_the_key_id_is_authenticated() -> None:
    """Swapping the id of a sealed value for another key's id does not open it."""
    a = AesGcmCodec(key=decode_key(generate_key(), source="a"))
    b_key = decode_key(generate_key(), source="b")
    both = AesGcmCodec(key=b_key, retired=[decode_key(generate_key(), source="c")])
    sealed = a.seal(PLAIN)
    relabelled = sealed.replace(a.current_id, both.ids[1])
    with pytest.raises(SecretKeyError, match="does not decrypt"):
        both.open(relabelled)
    with pytest.raises(SecretKeyError, match="valid key id"):
        a.open("enc:v2:XYZ:abc")


def test_a_bad_retired_key_names_the_variable_and_index_not_the_key() -> None:
    bad = "not-a-key-" + "x" * 5
    settings = load_settings(
        database_url="postgresql://x/y",
        secret_key=generate_key(),
        retired_secret_keys=f"{generate_key()}, {bad}",
    )
    with pytest.raises(SettingsError) as caught:
        secret_codec(settings, embedded=False)
    assert "CONDUIT_CONFIG_RETIRED_SECRET_KEYS[1]" in str(caught.value)
    assert bad not in str(caught.value)


# The store's known keys -------------------------------------------------------


def test_the_first_seal_records_the_key(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    assert known(db, schema) == {}
    store.set(Address("default", "feature_flag", "f"), {"enabled": True}, provenance=WHO)
    assert known(db, schema) == {}  # nothing sealed yet
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    assert known(db, schema) == {OLD_ID: False}
    assert api_keys(store)[0].startswith(f"enc:v2:{OLD_ID}:")


def test_a_wrong_key_refuses_to_seal_and_appends_nothing(
    store: ConfigStore, open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    """The reproductions: under a wrong key a patch keeping ``********`` (with a second
    secret) and a set of the same plaintext used to succeed, mixing keys."""
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    before = head(db, schema)
    with open_test_store(secret_key=generate_key()) as wrong:
        assert isinstance(wrong.codec, GuardedKeyring)
        wrong_id = wrong.codec.current_id
        expected = f"secret key \\(id {wrong_id}\\) is new to this store \\(known: {OLD_ID}\\)"
        with pytest.raises(SecretKeyError, match=expected) as caught:
            wrong.set(OPENAI, provider(PLAIN), provenance=WHO)
        assert "CONDUIT_CONFIG_NEW_SECRET_KEY=true" in str(caught.value)
        with pytest.raises(SecretKeyError, match=expected):
            wrong.patch(OPENAI, {"keys": provider("********", "sk-2")["keys"]}, provenance=WHO)
        with pytest.raises(SecretKeyError, match=expected):
            wrong.patch(OPENAI, {"keys": provider("********")["keys"]}, provenance=WHO)
        with pytest.raises(SecretKeyError, match=expected):
            wrong.set(OPENAI, provider("********"), provenance=WHO)
        document = parse_document({"entries": {"provider": {"other": provider("sk-3")}}})
        with pytest.raises(SecretKeyError, match=expected):
            wrong.apply_document(document, environment="default", provenance=WHO)
        with pytest.raises(SecretKeyError, match=f"sealed with key {OLD_ID}"):
            wrong.codec.open(api_keys(wrong)[0])
    assert head(db, schema) == before
    assert known(db, schema) == {OLD_ID: False}
    assert opened(store) == [PLAIN]


def test_a_store_from_before_key_ids_accepts_only_a_key_that_opens_its_secrets(
    store: ConfigStore, open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    """v1 values, no recorded key (as after upgrading): the first key must open one."""
    guard = store.codec
    assert isinstance(guard, GuardedKeyring)
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    db.execute(SQL("DELETE FROM {}.cc_secret_keys").format(Identifier(schema)))
    legacy = Address("default", "provider", "legacy")
    store.codec = AesGcmCodec(key=decode_key(TEST_SECRET_KEY, source="t"))
    store.set(legacy, provider(v1_seal(TEST_SECRET_KEY, "sk-legacy")), provenance=WHO)
    assert api_keys(store, legacy)[0].startswith("enc:v1:")
    with (
        open_test_store(secret_key=generate_key()) as wrong,
        pytest.raises(SecretKeyError, match="opens none of the secrets"),
    ):
        wrong.set(OPENAI, provider("sk-new"), provenance=WHO)
    assert known(db, schema) == {}
    with open_test_store() as right:
        assert opened(right, legacy) == ["sk-legacy"]  # v1 still reads
        right.set(OPENAI, provider("sk-new"), provenance=WHO)
    assert known(db, schema) == {OLD_ID: False}


def rotate(open_test_store: StoreOpener, new: str, **extra: Any) -> Any:
    return open_test_store(secret_key=new, retired_secret_keys=TEST_SECRET_KEY, **extra)


def test_rotation_keeps_history_readable_and_seals_with_the_new_key(
    store: ConfigStore, open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    new = generate_key()
    new_id = key_id(decode_key(new, source="n"))
    with (
        rotate(open_test_store, new) as unannounced,
        pytest.raises(SecretKeyError, match="is new to this store"),
    ):
        unannounced.set(OPENAI, provider("sk-rotated"), provenance=WHO)
    with rotate(open_test_store, new, new_secret_key=True) as rotated:
        assert opened(rotated) == [PLAIN]
        rotated.set(OPENAI, provider("sk-rotated"), provenance=WHO)
        assert api_keys(rotated)[0].startswith(f"enc:v2:{new_id}:")
        assert opened(rotated, version=1) == [PLAIN]
        assert opened(rotated, version=2) == ["sk-rotated"]
        assert [h.version for h in rotated.history(OPENAI)] == [1, 2]
    assert known(db, schema) == {OLD_ID: True, new_id: False}
    with (
        open_test_store() as old,
        pytest.raises(SecretKeyError, match=f"id {OLD_ID}\\) was retired"),
    ):
        old.set(OPENAI, provider("sk-from-an-old-process"), provenance=WHO)


def test_rekey_reseals_every_current_secret_with_the_same_plaintext(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    store.set(OPENAI, provider(PLAIN, "sk-second"), provenance=WHO)
    other = Address("staging", "provider", "anthropic")
    store.set(other, provider("sk-staging"), provenance=WHO)
    store.set(Address("default", "feature_flag", "f"), {"enabled": True}, provenance=WHO)
    new = generate_key()
    new_id = key_id(decode_key(new, source="n"))
    rekeyed = Provenance(actor="ops", source="rekey", correlation_id="c-rekey", reason="rotate")
    with rotate(open_test_store, new) as rotated:
        stale = rotated.stale_secrets()
        assert [(s.entry, s.field, s.key_id, s.in_ring) for s in stale] == [
            ("default:provider/openai", "keys.0.api_key", OLD_ID, True),
            ("default:provider/openai", "keys.1.api_key", OLD_ID, True),
            ("staging:provider/anthropic", "keys.0.api_key", OLD_ID, True),
        ]
        plan = rotated.rekey("default", provenance=rekeyed, dry_run=True)
        assert not plan.result.applied and plan.secrets == 2
        assert [(s.area, s.key) for s in plan.result.changes] == [("provider", "openai")]
        with pytest.raises(SecretKeyError, match="is new to this store"):
            rotated.rekey("default", provenance=rekeyed)
        done = rotated.rekey("default", provenance=rekeyed, new_key=True)
        assert done.result.applied and done.secrets == 2 and not done.skipped
        assert all(k.startswith(f"enc:v2:{new_id}:") for k in api_keys(rotated))
        assert opened(rotated) == [PLAIN, "sk-second"]
        last = rotated.history(OPENAI)[-1]
        assert (last.version, last.source, last.reason) == (2, "rekey", "rotate")
        assert api_keys(rotated, other)[0].startswith(f"enc:v2:{OLD_ID}:")  # not its env
        assert rotated.rekey("staging", provenance=rekeyed).secrets == 1
        assert rotated.stale_secrets() == []
        again = rotated.rekey("default", provenance=rekeyed)
        assert not again.result.changes and again.secrets == 0
        usage = {u.key_id: u for u in rotated.key_usage().keys}
        assert usage[new_id].values == 3 and usage[new_id].current and usage[new_id].in_ring
        assert usage[OLD_ID].values == 0 and usage[OLD_ID].record is not None
        assert usage[OLD_ID].record.retired_at is not None


def test_a_retired_key_removed_from_the_ring(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    """Current values were rekeyed, so reads work; history under the removed key names
    the key it needs."""
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    new = generate_key()
    rekeyed = Provenance(actor="ops", source="rekey", correlation_id="c")
    with rotate(open_test_store, new) as rotated:
        rotated.rekey("default", provenance=rekeyed, new_key=True)
    with open_test_store(secret_key=new) as only_new:
        assert opened(only_new) == [PLAIN]
        with pytest.raises(SecretKeyError, match=f"sealed with key {OLD_ID}, not in this"):
            opened(only_new, version=1)
        written = only_new.set(OPENAI, provider("sk-later"), provenance=WHO)
        assert api_keys(only_new)[0].startswith(f"enc:v2:{key_id(decode_key(new, source='n'))}:")
        assert written.version == 3
        with pytest.raises(SecretKeyError, match=f"keys.0.api_key: .*sealed with key {OLD_ID}"):
            only_new.rollback(OPENAI, to_version=1, provenance=WHO)
        only_new.rollback(OPENAI, to_version=2, provenance=WHO)  # re-sealed: readable
        assert opened(only_new) == [PLAIN]


def test_rekey_reports_a_secret_no_key_opens_and_reseals_the_rest(
    store: ConfigStore, open_test_store: StoreOpener
) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=WHO)
    lost = Address("default", "provider", "lost")
    store.set(lost, provider("sk-lost"), provenance=WHO)
    newer, newest = generate_key(), generate_key()
    with open_test_store(secret_key=newer, new_secret_key=True) as unreadable:
        unreadable.set(lost, provider("sk-lost-2"), provenance=WHO)  # sealed with `newer`
    with rotate(open_test_store, newest, new_secret_key=True) as rotated:
        done = rotated.rekey("default", provenance=WHO)
        assert [(p.area, p.key) for p in done.skipped] == [("provider", "lost")]
        assert "not in this process's keyring" in done.skipped[0].reason
        assert [(s.area, s.key) for s in done.result.changes] == [("provider", "openai")]
        assert opened(rotated) == [PLAIN]
