"""Over HTTP, an entry whose log is broken (damage made with SQL) answers 503
``broken-log`` naming the entry and position (no ``Retry-After``: a repair helps, not a
retry); lists and whole-environment reads agree; ``POST /v1/verify`` names the damage."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.address import Address
from domain.stored import BROKEN_LOG_TYPE
from infrastructure.store import ConfigStore
from infrastructure.store.chain import head
from tests.infrastructure.http.conftest import Headers, TokenMaker
from tests.infrastructure.test_projections import who
from tests.integrity_support import Tables

ENV = "/v1/envs/prod"
ROUTER = Address("prod", "router", "default")


@pytest.fixture
def tables(db: psycopg.Connection[Any], schema: str) -> Tables:
    return Tables(db, schema)


def _fill(store: ConfigStore) -> None:
    for retries in range(1, 4):  # versions 1..3
        store.set(ROUTER, {"max_retries": retries}, provenance=who())
    store.set(Address("prod", "feature_flag", "a"), {"enabled": True}, provenance=who())


def _broken(answer: Any, position: int) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "retry-after" not in answer.headers
    body = answer.json()
    assert body["type"] == BROKEN_LOG_TYPE
    assert (body["entry"], body["position"]) == ("prod/router/default", position)
    assert f"position {position}" in body["detail"]


def test_reads_of_a_broken_entry_answer_503(
    client: TestClient, admin: Headers, store: ConfigStore, tables: Tables
) -> None:
    _fill(store)
    position = tables.delete_event(ROUTER, 2)
    _broken(client.get(ENV + "/entries/router/default", headers=admin), position)
    _broken(client.get(ENV + "/entries/router/default/history", headers=admin), position)
    _broken(client.get(ENV + "/entries/router/default?version=1", headers=admin), position)
    written = client.put(ENV + "/entries/router/default", json={"max_retries": 9}, headers=admin)
    _broken(written, position)
    listed = client.get(ENV + "/entries", headers=admin).json()
    assert [i["key"] for i in listed["items"]] == ["a"]
    assert [(p["entry"], p["type"]) for p in listed["problems"]] == [
        ("router/default", BROKEN_LOG_TYPE)
    ]
    exported = client.get(ENV, headers=admin).json()
    assert exported["entries"] == {"feature_flag": {"a": {"enabled": True}}}
    assert [p["entry"] for p in exported["problems"]] == ["router/default"]


def test_post_verify_names_the_damage(
    client: TestClient, admin: Headers, store: ConfigStore, tables: Tables
) -> None:
    _fill(store)
    recorded = head(store)
    assert recorded is not None
    clean = client.post("/v1/verify", json={"all_envs": True}, headers=admin)
    assert clean.status_code == 200 and clean.json()["problems"] == []
    assert clean.json()["chain"]["head"] == recorded.text
    position = tables.delete_event(ROUTER, 3)
    answer = client.post(
        "/v1/verify", json={"environment": "prod", "against": recorded.text}, headers=admin
    )
    assert answer.status_code == 200
    first = answer.json()["problems"][0]
    assert (first["entry"], first["version"], first["position"]) == (
        "prod:router/default",
        3,
        position,
    )
    assert answer.json()["quarantined"] == ["prod/router/default"]
    _broken(client.get(ENV + "/entries/router/default", headers=admin), position)


def test_post_verify_is_for_admins_and_checks_its_body(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    for role in ("reader", "writer"):
        answer = client.post("/v1/verify", json={"all_envs": True}, headers=make_token(role))
        assert answer.status_code == 403
    assert client.post("/v1/verify", json={}, headers=admin).status_code == 422
    both = {"environment": "prod", "all_envs": True}
    assert client.post("/v1/verify", json=both, headers=admin).status_code == 422
    bad_head = {"all_envs": True, "against": "12:xyz"}
    assert client.post("/v1/verify", json=bad_head, headers=admin).status_code == 400
