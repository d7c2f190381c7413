"""A secret that only the schema makes one (a union member's place, the value having
picked a member with a plain ``str`` there) is found wherever a stored value's secrets
are looked for: rekey re-seals it, verify lists and checks it, rollback checks it opens,
``watch`` redacts it."""

from __future__ import annotations

from typing import Any

import pytest

from domain.address import Address
from domain.entry import Provenance
from domain.errors import SecretKeyError
from infrastructure.cli.runtime import change_json
from infrastructure.crypto import decode_key, generate_key, key_id
from infrastructure.store import ConfigStore
from projections.live import LiveChange
from tests.conftest import TEST_SECRET_KEY, StoreOpener
from tests.infrastructure.union_area import ChoiceConfig

AREA = "tests.infrastructure.union_area:ChoiceConfig"
CHOICE = Address("default", "choice", "c")
WHO = Provenance(actor="ops", source="api", correlation_id="c-union")
PLAIN = "sk-UNION-MEMBER-0001"
OLD_ID = key_id(decode_key(TEST_SECRET_KEY, source="t"))


def value(token: str = PLAIN) -> dict[str, Any]:
    return {"item": {"kind": "plain", "token": token}}


def token(store: ConfigStore, **at: Any) -> str:
    sealed = store.get(CHOICE, **at).stored["item"]["token"]
    assert isinstance(sealed, str) and sealed.startswith("enc:v2:")
    return sealed


@pytest.fixture
def union_store(open_test_store: StoreOpener) -> Any:
    with open_test_store(areas=AREA) as opened:
        opened.set(CHOICE, value(), provenance=WHO)
        yield opened


def test_rekey_reseals_a_union_member_secret(
    union_store: ConfigStore, open_test_store: StoreOpener
) -> None:
    # Was: rekey looked for the validated value's SecretStr fields only, so this secret
    # stayed sealed under the retired key ("nothing to re-seal").
    new = generate_key()
    new_id = key_id(decode_key(new, source="n"))
    with open_test_store(
        areas=AREA, secret_key=new, retired_secret_keys=TEST_SECRET_KEY, new_secret_key=True
    ) as rotated:
        stale = rotated.stale_secrets()
        assert [(s.entry, s.field, s.key_id) for s in stale] == [
            ("default:choice/c", "item.token", OLD_ID)
        ]
        usage = {u.key_id: u.values for u in rotated.key_usage().keys}
        assert usage[OLD_ID] == 1
        done = rotated.rekey("default", provenance=WHO)
        assert done.secrets == 1 and [(c.area, c.key) for c in done.result.changes] == [
            ("choice", "c")
        ]
        assert token(rotated).startswith(f"enc:v2:{new_id}:")
        assert rotated.revealed(rotated.get(CHOICE).value, "default", "choice") == value()
        assert rotated.stale_secrets() == []


def test_verify_lists_and_checks_a_union_member_secret(
    union_store: ConfigStore, open_test_store: StoreOpener
) -> None:
    new = generate_key()
    with open_test_store(
        areas=AREA, secret_key=new, retired_secret_keys=TEST_SECRET_KEY, new_secret_key=True
    ) as rotated:
        report = rotated.verify("default", chain=False)
        assert [(r.entry, r.field, r.key_id) for r in report.retired_keys] == [
            ("default:choice/c", "item.token", OLD_ID)
        ]
        assert report.findings == []
    # Without the old key the current value cannot be served: verify says so.
    with open_test_store(areas=AREA, secret_key=new) as only_new:
        report = only_new.verify("default", chain=False)
        problems = [f.problem for f in report.findings]
        assert any("item.token does not decrypt" in p for p in problems), problems


def test_rollback_refuses_a_version_whose_union_member_secret_does_not_open(
    union_store: ConfigStore, open_test_store: StoreOpener
) -> None:
    # Was: the pre-check looked at SecretStr fields only; the rollback made current a
    # value no process with the store's keys could open.
    new = generate_key()
    with open_test_store(areas=AREA, secret_key=new, new_secret_key=True) as only_new:
        only_new.set(CHOICE, value("sk-UNION-MEMBER-0002"), provenance=WHO)
        with pytest.raises(SecretKeyError, match=f"item.token: .*sealed with key {OLD_ID}"):
            only_new.rollback(CHOICE, to_version=1, provenance=WHO)
        assert only_new.get(CHOICE).version == 2


def test_watch_redacts_a_union_member_secret() -> None:
    # The client holds secrets revealed; watch --json printed this one in plaintext.
    new = ChoiceConfig.model_validate(value())
    change = LiveChange(1, "choice", "c", 1, "created", None, new)
    shown = change_json(change)
    assert PLAIN not in repr(shown)
    assert shown["changes"] == [
        {"op": "add", "path": "/item", "value": {"kind": "plain", "token": "********"}}
    ]
