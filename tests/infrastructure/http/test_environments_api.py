"""Whole environments over HTTP: export at a point, diff, plan/apply, snapshots,
restore, promote, audit paging, tokens and the probes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.infrastructure.http.conftest import Headers
from tests.infrastructure.http.test_entries_api import problem

ENV = "/v1/envs/prod"


def document(rollout: int, *, extra: bool = False) -> dict[str, Any]:
    entries: dict[str, Any] = {
        "router": {"default": {"max_retries": 4}},
        "feature_flag": {"beta": {"rollout_percent": rollout}},
    }
    if extra:
        entries["feature_flag"]["gamma"] = {"enabled": False}
    return {"environment": "ignored-here", "entries": entries}


def test_plan_apply_export_and_diff(client: TestClient, admin: Headers) -> None:
    head = client.get(ENV, headers=admin).json()["position"]  # the admin token's creation
    plan = client.post(ENV + "/plan", json=document(10), headers=admin).json()
    assert (plan["applied"], plan["base_position"]) == (False, head)
    assert {(c["area"], c["key"], c["action"]) for c in plan["changes"]} == {
        ("router", "default", "create"),
        ("feature_flag", "beta", "create"),
    }
    assert client.get(ENV + "/entries", headers=admin).json()["items"] == []
    applied = client.post(ENV + "/apply", json=document(10), headers=admin)
    first = applied.json()
    assert first["applied"] and first["changes"] == plan["changes"]
    assert applied.headers["x-config-position"] == str(first["position"])
    again = client.post(ENV + "/apply", json=document(10), headers=admin).json()
    assert (again["changes"], again["unchanged"]) == ([], 2)
    client.post(ENV + "/apply", json=document(50, extra=True), headers=admin)
    now = client.get(ENV, headers=admin).json()
    assert now["entries"]["feature_flag"] == {
        "beta": {"rollout_percent": 50},
        "gamma": {"enabled": False},
    }
    before = client.get(ENV, params={"position": first["position"]}, headers=admin).json()
    assert before["entries"]["feature_flag"] == {"beta": {"rollout_percent": 10}}
    diff = client.get(ENV + "/diff", params={"from": first["position"]}, headers=admin).json()
    assert {(c["key"], c["action"]) for c in diff["changes"]} == {
        ("beta", "update"),
        ("gamma", "create"),
    }
    pruned = client.post(ENV + "/apply", params={"prune": True}, json=document(50), headers=admin)
    assert [(c["key"], c["action"]) for c in pruned.json()["changes"]] == [("gamma", "delete")]


def test_apply_is_atomic_and_checks_expected_position(client: TestClient, admin: Headers) -> None:
    base = client.post(ENV + "/apply", json=document(1), headers=admin).json()
    bad = document(2)
    bad["entries"]["router"]["default"] = {"max_retries": 99}
    errors = problem(client.post(ENV + "/apply", json=bad, headers=admin), 422)["errors"]
    assert [e["field"] for e in errors] == ["entries.router.default.max_retries"]
    assert client.get(ENV, headers=admin).json()["position"] == base["position"]
    client.put(ENV + "/entries/feature_flag/beta", json={"rollout_percent": 7}, headers=admin)
    stale = client.post(
        ENV + "/apply",
        params={"expected_position": base["position"]},
        json=document(3),
        headers=admin,
    )
    problem(stale, 409)
    problem(client.post(ENV + "/apply", json={"entries": 5}, headers=admin), 422)


def test_snapshots_and_restore(client: TestClient, admin: Headers) -> None:
    client.post(ENV + "/apply", json=document(10), headers=admin)
    snap = client.post(ENV + "/snapshots", json={"name": "before-ramp"}, headers=admin)
    assert snap.status_code == 201
    assert (snap.json()["name"], snap.json()["entry_count"]) == ("before-ramp", 2)
    problem(client.post(ENV + "/snapshots", json={"name": "before-ramp"}, headers=admin), 409)
    client.post(ENV + "/apply", json=document(90, extra=True), headers=admin)
    shown = client.get(ENV + "/snapshots/before-ramp", headers=admin).json()
    assert shown["entries"]["feature_flag"] == {"beta": {"rollout_percent": 10}}
    names = [s["name"] for s in client.get(ENV + "/snapshots", headers=admin).json()["items"]]
    assert names == ["before-ramp"]
    dry = client.post(
        ENV + "/restore", json={"to_snapshot": "before-ramp", "dry_run": True}, headers=admin
    )
    assert dry.json()["applied"] is False
    assert client.get(ENV, headers=admin).json()["entries"]["feature_flag"]["beta"] == {
        "rollout_percent": 90
    }
    done = client.post(ENV + "/restore", json={"to_snapshot": "before-ramp"}, headers=admin)
    assert {(c["key"], c["action"]) for c in done.json()["changes"]} == {
        ("beta", "rollback"),
        ("gamma", "delete"),
    }
    assert client.get(ENV, headers=admin).json()["entries"] == shown["entries"]
    problem(client.post(ENV + "/restore", json={}, headers=admin), 400)
    problem(client.post(ENV + "/restore", json={"to_snapshot": "nope"}, headers=admin), 404)
    assert client.delete(ENV + "/snapshots/before-ramp", headers=admin).status_code == 204
    problem(client.delete(ENV + "/snapshots/before-ramp", headers=admin), 404)


def test_promote(client: TestClient, admin: Headers) -> None:
    client.post("/v1/envs/staging/apply", json=document(33), headers=admin)
    promoted = client.post(ENV + "/promote", json={"source": "staging"}, headers=admin).json()
    assert promoted["applied"] and len(promoted["changes"]) == 2
    assert client.get(ENV, headers=admin).json()["entries"] == document(33)["entries"]
    same = client.post(ENV + "/promote", json={"source": "prod"}, headers=admin)
    problem(same, 422)


def test_audit_pages_backwards_with_a_cursor(client: TestClient, admin: Headers) -> None:
    for percent in range(5):
        client.put(
            ENV + "/entries/feature_flag/beta", json={"rollout_percent": percent}, headers=admin
        )
    page = client.get("/v1/audit", params={"env": "prod", "limit": 3}, headers=admin).json()
    assert [r["version"] for r in page["items"]] == [5, 4, 3]
    rest = client.get(
        "/v1/audit",
        params={"env": "prod", "limit": 3, "before": page["next_before"]},
        headers=admin,
    ).json()
    assert ([r["version"] for r in rest["items"]], rest["next_before"]) == ([2, 1], None)
    mine = client.get("/v1/audit", params={"env": "prod", "actor": "nobody"}, headers=admin)
    assert mine.json()["items"] == []
    problem(
        client.get("/v1/audit", params={"env": "prod", "since": "yesterday"}, headers=admin), 400
    )


def test_tokens_over_http(client: TestClient, admin: Headers) -> None:
    made = client.post(
        "/v1/tokens", json={"name": "deploy", "role": "writer", "scopes": ["prod"]}, headers=admin
    )
    assert made.status_code == 201
    token = made.json()["token"]
    writer = {"Authorization": f"Bearer {token}"}
    written = client.put(ENV + "/entries/feature_flag/x", json={}, headers=writer)
    assert written.status_code == 201
    listed = client.get("/v1/tokens", headers=admin).json()["items"]
    assert {(t["name"], t["role"]) for t in listed} >= {("deploy", "writer")}
    assert token not in client.get("/v1/tokens", headers=admin).text
    bad = client.post(
        "/v1/tokens", json={"name": "x", "role": "writer", "scopes": ["a b"]}, headers=admin
    )
    assert problem(bad, 422)["errors"][0]["field"] == "scopes"
    problem(
        client.post("/v1/tokens", json={"name": "deploy", "role": "reader"}, headers=admin), 409
    )
    assert client.delete("/v1/tokens/deploy", headers=admin).status_code == 204
    problem(client.get(ENV + "/entries", headers=writer), 401)
    problem(client.delete("/v1/tokens/deploy", headers=admin), 404)
    trail = client.get("/v1/audit", params={"env": "_system"}, headers=admin).json()["items"]
    assert [(r["key"], r["event"]) for r in trail][:2] == [
        ("deploy", "deleted"),
        ("deploy", "created"),
    ]


def test_probes_and_metrics(client: TestClient, admin: Headers) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.put(ENV + "/entries/feature_flag/m", json={}, headers=admin)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    client.put(
        ENV + "/entries/feature_flag/m",
        json={"enabled": False},
        headers={**admin, "If-Match": '"9"'},
    )
    text = client.get("/metrics").text
    assert 'conduit_config_writes_total{route="/v1/envs/{env}/entries/{area}/{key}"} 1.0' in text
    assert "conduit_config_conflicts_total 1.0" in text
    assert 'conduit_config_projection_lag_events{projection="audit"}' in text
    schema = client.get("/openapi.json").json()
    assert "/v1/envs/{env}/entries/{area}/{key}" in schema["paths"]
    assert client.get("/v1/areas/router/schema", headers=admin).json()["properties"]["max_retries"]
