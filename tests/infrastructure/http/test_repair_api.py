"""``POST /v1/repair`` (admin): a dry run answers the plan and changes nothing; a run
re-establishes the damaged entry; ``GET /v1/repairs`` lists it."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import TokenMaker
from tests.infrastructure.test_repair import ROUTER, _counts, _delete_event, _fill


def test_repair_over_http(
    store: ConfigStore,
    client: TestClient,
    make_token: TokenMaker,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    admin, writer = make_token("admin"), make_token("writer")
    _fill(store)
    _delete_event(db, schema, ROUTER, 3)
    body = {"dry_run": True, "environment": "default", "reason": "lost event"}
    assert client.post("/v1/repair", json=body, headers=writer).status_code == 403
    both = {"dry_run": True, "environment": "default", "all_envs": True}
    assert client.post("/v1/repair", json=both, headers=admin).status_code == 422
    assert (
        client.post("/v1/repair", json={"environment": "default"}, headers=admin).status_code == 422
    )
    before = _counts(db, schema)
    plan = client.post("/v1/repair", json=body, headers=admin)
    assert plan.status_code == 200, plan.text
    assert [e["new_version"] for e in plan.json()["entries"]] == [5]
    assert _counts(db, schema) == before
    done = client.post("/v1/repair", json={**body, "dry_run": False}, headers=admin)
    assert done.status_code == 200, done.text
    [appended] = done.json()["appended"]
    assert appended["version"] == 5
    got = client.get("/v1/envs/default/entries/router/default", headers=admin)
    assert got.status_code == 200, got.text
    listed = client.get("/v1/repairs", headers=admin).json()["items"]
    assert [(r["id"], r["source"], r["reason"]) for r in listed] == [
        (done.json()["repair_id"], "api", "lost event")
    ]
    event = done.json()["event"]
    assert event["entry"] == f"_system:repair_run/{done.json()['repair_id']}"
    audit = client.get("/v1/audit?env=_system&area=repair_run", headers=admin)
    assert audit.status_code == 200, audit.text
    [row] = audit.json()["items"]
    assert (row["key"], row["position"], row["source"], row["actor"]) == (
        str(done.json()["repair_id"]),
        event["position"],
        "repair",
        listed[0]["actor"],
    )
    value = {op["path"].lstrip("/"): op["value"] for op in row["changes"]}
    assert (value["channel"], value["scope"], value["entries_reestablished"]) == (
        "api",
        "default",
        1,
    )
    # Only admins see the system environment: its audit, its entries and its areas.
    for token in (writer, make_token("reader"), make_token("service")):
        assert client.get("/v1/audit?env=_system", headers=token).status_code == 403
        entry = client.get(f"/v1/envs/_system/entries/repair_run/{row['key']}", headers=token)
        assert entry.status_code in (400, 403, 404), entry.text  # never served
        assert "repair_run" not in entry.text
    names = {a["area"] for a in client.get("/v1/areas", headers=admin).json()["items"]}
    assert "router" in names and "repair_run" not in names
    assert client.get("/v1/areas/repair_run/schema", headers=admin).status_code == 404


def test_a_dry_run_over_http_appends_nothing(
    store: ConfigStore, client: TestClient, make_token: TokenMaker
) -> None:
    admin = make_token("admin")
    _fill(store)
    head = store.projections.head()
    body = {"dry_run": True, "all_envs": True}
    assert client.post("/v1/repair", json=body, headers=admin).status_code == 200
    assert store.projections.head() == head
    assert client.get("/v1/audit?env=_system&area=repair_run", headers=admin).json()["items"] == []
