"""A scheduled change of an area (or environment) the token may not read is "not found",
with the very answer an unknown id gets, in the API and the console alike, so a scoped
token cannot tell which ids exist; nothing is cancelled. A token that reads the change
but lacks the writer role still gets 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.access import Grant, Role, Scope
from domain.address import Address
from domain.errors import NotFoundError, PermissionDeniedError
from infrastructure.http.scheduled import scheduled_for
from infrastructure.store import ConfigStore
from infrastructure.store.views import ScheduledView
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import SETUP, TokenMaker

BASE = "/v1/envs/prod/scheduled"
UNKNOWN = "sch-000000000000"


def _schedule(store: ConfigStore, env: str, area: str, key: str) -> ScheduledView:
    return store.schedule_change(
        Address(env, area, key),
        "delete",
        None,
        due_at=datetime.now(UTC) + timedelta(hours=1),
        provenance=SETUP,
    )


def _other_area(store: ConfigStore) -> ScheduledView:
    store.set(Address("prod", "global_setting", "motd"), {"value": "a"}, provenance=SETUP)
    return _schedule(store, "prod", "global_setting", "motd")


def _problem(client: TestClient, method: str, url: str, headers: dict[str, str]) -> str:
    answer = client.request(method, url, headers=headers)
    assert answer.status_code == 404, answer.text
    detail: str = answer.json()["detail"]
    return detail


def test_the_api_answers_404_alike_for_another_areas_change_and_an_unknown_id(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    other = _other_area(store)
    store.set(Address("staging", "router", "default"), {"max_retries": 1}, provenance=SETUP)
    elsewhere = _schedule(store, "staging", "router", "default")
    scoped = make_token("writer", scopes=["prod:router"])
    for method in ("GET", "DELETE"):
        hidden = _problem(client, method, f"{BASE}/{other.id}", scoped)
        unknown = _problem(client, method, f"{BASE}/{UNKNOWN}", scoped)
        assert hidden.replace(other.id, UNKNOWN) == unknown
        assert unknown == f"no scheduled change '{UNKNOWN}' in 'prod'"
        in_staging = _problem(client, method, f"{BASE}/{elsewhere.id}", scoped)
        assert in_staging.replace(elsewhere.id, UNKNOWN) == unknown  # another environment
    assert store.scheduled(other.id).status == "pending"
    assert store.scheduled(elsewhere.id).status == "pending"


def test_the_shared_rule(store: ConfigStore) -> None:
    other = _other_area(store)
    scoped = Grant("w", Role.WRITER, (Scope.parse("prod:router"),))
    with pytest.raises(NotFoundError, match=f"no scheduled change '{other.id}' in 'prod'"):
        scheduled_for(store, scoped, "prod", other.id, Role.WRITER)
    reader = Grant("r", Role.READER, (Scope.parse("prod"),))
    assert scheduled_for(store, reader, "prod", other.id, Role.READER).id == other.id
    with pytest.raises(PermissionDeniedError):  # it sees the change: no secret to keep
        scheduled_for(store, reader, "prod", other.id, Role.WRITER)
    with pytest.raises(NotFoundError, match="ids look like"):
        scheduled_for(store, reader, "prod", "bogus", Role.READER)


def test_the_console_answers_404_alike_and_cancels_nothing(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    other = _other_area(store)
    csrf = sign_in(client, bearer(make_token("writer", scopes=["prod:router"])))
    hidden = client.post(f"/ui/envs/prod/scheduled/{other.id}/cancel", data={"csrf": csrf})
    unknown = client.post(f"/ui/envs/prod/scheduled/{UNKNOWN}/cancel", data={"csrf": csrf})
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.text.replace(other.id, UNKNOWN) == unknown.text
    assert store.scheduled(other.id).status == "pending"
