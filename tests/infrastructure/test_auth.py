"""API tokens: stored hashed in the system environment, checked per request."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from domain.access import Role, Scope
from domain.address import SYSTEM_ENVIRONMENT, Address
from domain.areas.access_token import generate_token, token_name
from domain.entry import Provenance
from domain.errors import AreaNotFoundError, EntryStateError, InvalidValueError, NotFoundError
from infrastructure.auth import TokenService
from infrastructure.errors import AuthenticationError
from infrastructure.store import ConfigStore
from tests.conftest import dump_schema

WHO = Provenance(actor="ops", source="cli", correlation_id="c-tokens")


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_token_names_round_trip() -> None:
    token = generate_token("ci.deploy")
    assert token.startswith("cct_ci.deploy.")
    assert token_name(token) == "ci.deploy"
    assert token_name("cct_x.short") is None
    assert token_name("Bearer nonsense") is None


def test_create_authenticate_and_revoke(store: ConfigStore) -> None:
    tokens = TokenService(store=store, cache_seconds=0)
    issued = tokens.create("ci", role="writer", scopes=["prod:router"], provenance=WHO)
    grant = tokens.authenticate(bearer(issued.token))
    assert (grant.name, grant.role, grant.scopes) == (
        "ci",
        Role.WRITER,
        (Scope.parse("prod:router"),),
    )
    assert tokens.authenticate(f"bearer   {issued.token}").name == "ci"
    for header, reason in [
        (None, "missing"),
        ("Basic abc", "must be 'Bearer"),
        ("Bearer " + issued.token[:-1] + "x", "unknown or revoked"),
        ("Bearer cct_nobody." + "a" * 43, "unknown or revoked"),
        ("Bearer cct_bad name." + "a" * 43, "unknown or revoked"),
    ]:
        with pytest.raises(AuthenticationError, match=reason):
            tokens.authenticate(header)
    tokens.revoke("ci", provenance=WHO)
    with pytest.raises(AuthenticationError, match="unknown or revoked"):
        tokens.authenticate(bearer(issued.token))
    with pytest.raises(NotFoundError, match="already revoked"):
        tokens.revoke("ci", provenance=WHO)
    with pytest.raises(NotFoundError, match="no token named"):
        tokens.revoke("other", provenance=WHO)
    with pytest.raises(EntryStateError, match="exists or was revoked"):
        tokens.create("ci", role="reader", provenance=WHO)


def test_expired_tokens_are_refused(store: ConfigStore) -> None:
    tokens = TokenService(store=store, cache_seconds=0)
    soon = datetime.now(UTC) + timedelta(seconds=0.5)
    issued = tokens.create("short", role="reader", expires_at=soon, provenance=WHO)
    assert tokens.authenticate(bearer(issued.token)).name == "short"
    time.sleep(0.6)
    with pytest.raises(AuthenticationError, match="expired"):
        tokens.authenticate(bearer(issued.token))


def test_bad_fields_name_the_field(store: ConfigStore) -> None:
    tokens = TokenService(store=store)
    with pytest.raises(InvalidValueError) as caught:
        tokens.create("x", role="owner", scopes=["prod:Router"], provenance=WHO)
    assert {e.field for e in caught.value.errors} == {"role", "scopes"}
    assert not tokens.any_exist()


def test_another_instance_sees_a_revocation_after_its_cache_time(store: ConfigStore) -> None:
    here = TokenService(store=store, cache_seconds=0)
    there = TokenService(store=store, cache_seconds=0.3)
    issued = here.create("shared", role="reader", provenance=WHO)
    assert there.authenticate(bearer(issued.token)).name == "shared"
    here.revoke("shared", provenance=WHO)
    assert there.authenticate(bearer(issued.token)).name == "shared"  # cached
    time.sleep(0.35)
    with pytest.raises(AuthenticationError):
        there.authenticate(bearer(issued.token))


def test_bootstrap_once_and_audited(store: ConfigStore) -> None:
    tokens = TokenService(store=store)
    first = tokens.bootstrap(provenance=WHO)
    assert first is not None and first.role == "admin"
    assert tokens.bootstrap(provenance=WHO) is None
    assert [t.name for t in tokens.list()] == ["admin"]
    history = store.history(Address(SYSTEM_ENVIRONMENT, "access_token", "admin"))
    assert [(h.event, h.actor) for h in history] == [("created", "ops")]


def test_a_scheduled_change_made_first_does_not_stop_the_bootstrap(store: ConfigStore) -> None:
    store.schedule_change(
        Address("default", "router", "default"),
        "set",
        {"max_retries": 2},
        due_at=datetime.now(UTC) + timedelta(hours=1),
        provenance=WHO,
    )
    issued = TokenService(store=store).bootstrap(provenance=WHO)
    assert issued is not None and issued.role == "admin"


def test_plaintext_token_is_never_stored(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    issued = TokenService(store=store).create("leak-check", role="admin", provenance=WHO)
    store.projections.catch_up()
    assert issued.token.split(".", 1)[1] not in dump_schema(db, schema)


def test_system_areas_stay_in_the_system_environment(store: ConfigStore) -> None:
    with pytest.raises(AreaNotFoundError):
        store.set(Address("prod", "access_token", "x"), {}, provenance=WHO)
    with pytest.raises(AreaNotFoundError):
        store.set(Address(SYSTEM_ENVIRONMENT, "router", "default"), {}, provenance=WHO)
