"""One entry over HTTP: writes with ETag/If-Match, reads at versions and times, history,
diff, rollback, undelete, secrets, and the errors of bad requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from domain.secrets import REDACTED
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import ClientMaker, Headers, TokenMaker

ROUTER = "/v1/envs/prod/entries/router/default"
FLAG = "/v1/envs/prod/entries/feature_flag/beta"
PLAIN = "sk-live-http-never-stored-77"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_put_get_and_headers(client: TestClient, admin: Headers) -> None:
    created = client.put(ROUTER, json={"max_retries": 5}, headers=admin)
    assert created.status_code == 201
    assert created.headers["etag"] == '"1"'
    assert created.json() == {
        "environment": "prod",
        "area": "router",
        "key": "default",
        "version": 1,
        "position": int(created.headers["x-config-position"]),
        "changed": True,
    }
    same = client.put(ROUTER, json={"max_retries": 5}, headers=admin)
    assert (same.status_code, same.json()["changed"], same.json()["version"]) == (200, False, 1)
    got = client.get(ROUTER, headers=admin)
    assert got.headers["etag"] == '"1"'
    body = got.json()
    assert body["value"]["max_retries"] == 5
    assert body["value"]["retry_max_delay_ms"] == 10000  # default filled in
    assert body["actor"] == "root-admin"  # the token's name
    stored = client.get(ROUTER, params={"stored": "true"}, headers=admin).json()
    assert stored["value"] == {"max_retries": 5}


def test_if_match_and_if_none_match(client: TestClient, admin: Headers, store: ConfigStore) -> None:
    client.put(ROUTER, json={"max_retries": 5}, headers=admin)
    stale = client.patch(ROUTER, json={"max_retries": 6}, headers={**admin, "If-Match": '"7"'})
    assert problem(stale, 412)["detail"].endswith("current version is 1")
    again = client.put(ROUTER, json={"max_retries": 1}, headers={**admin, "If-None-Match": "*"})
    problem(again, 412)
    assert client.get(ROUTER, headers=admin).json()["version"] == 1  # nothing appended
    fresh = client.patch(ROUTER, json={"max_retries": 6}, headers={**admin, "If-Match": '"1"'})
    assert (fresh.status_code, fresh.headers["etag"]) == (200, '"2"')
    problem(client.put(ROUTER, json={}, headers={**admin, "If-Match": "v2"}), 400)


def test_server_can_require_if_match(make_client: ClientMaker, admin: Headers) -> None:
    strict = make_client(require_if_match=True)
    problem(strict.put(FLAG, json={"enabled": True}, headers=admin), 428)
    created = strict.put(FLAG, json={"enabled": True}, headers={**admin, "If-None-Match": "*"})
    assert created.status_code == 201


def test_patch_delete_undelete_rollback_history_diff(client: TestClient, admin: Headers) -> None:
    why = {**admin, "X-Change-Reason": "ramp up", "X-Request-ID": "req-42"}
    client.put(FLAG, json={"enabled": True, "rollout_percent": 10}, headers=why)
    client.patch(FLAG, json={"rollout_percent": None}, headers=admin)  # back to default
    assert client.get(FLAG, params={"stored": True}, headers=admin).json()["value"] == {
        "enabled": True
    }
    assert client.delete(FLAG, headers=admin).json()["version"] == 3
    assert "deleted" in problem(client.get(FLAG, headers=admin), 404)["detail"]
    assert client.post(FLAG + "/undelete", headers=admin).json()["version"] == 4
    back = client.post(FLAG + "/rollback", json={"to_version": 1, "reason": "undo"}, headers=admin)
    assert back.json()["version"] == 5
    assert client.get(FLAG, headers=admin).json()["value"]["rollout_percent"] == 10
    items = client.get(FLAG + "/history", headers=admin).json()["items"]
    assert [i["event"] for i in items] == [
        "created",
        "changed",
        "deleted",
        "restored",
        "rolled_back",
    ]
    assert (items[0]["reason"], items[0]["correlation_id"]) == ("ramp up", "req-42")
    assert (items[4]["reason"], items[4]["target_version"]) == ("undo", 1)
    diff = client.get(FLAG + "/diff", params={"from": 1, "to": 2}, headers=admin).json()
    assert diff["operations"] == [{"op": "remove", "path": "/rollout_percent"}]
    last = client.get(FLAG + "/history", params={"limit": 2}, headers=admin).json()["items"]
    assert [i["version"] for i in last] == [4, 5]


def test_reads_at_versions_and_times(client: TestClient, admin: Headers) -> None:
    client.put(FLAG, json={"rollout_percent": 1}, headers=admin)
    between = datetime.now(UTC).isoformat()
    client.put(FLAG, json={"rollout_percent": 2}, headers=admin)
    at = client.get(FLAG, params={"as_of": between}, headers=admin).json()
    assert (at["version"], at["value"]["rollout_percent"]) == (1, 1)
    assert (
        client.get(FLAG, params={"version": 2}, headers=admin).json()["value"]["rollout_percent"]
        == 2
    )
    by_time = client.post(FLAG + "/rollback", json={"to_time": between}, headers=admin)
    assert by_time.json()["version"] == 3
    problem(client.get(FLAG, params={"version": 9}, headers=admin), 404)
    problem(client.get(FLAG, params={"version": 1, "as_of": between}, headers=admin), 400)
    problem(client.post(FLAG + "/rollback", json={}, headers=admin), 400)


def test_invalid_values_list_every_field_and_append_nothing(
    client: TestClient, admin: Headers
) -> None:
    bad = client.put(ROUTER, json={"max_retries": 50, "bogus": 1}, headers=admin)
    fields = {e["field"] for e in problem(bad, 422)["errors"]}
    assert fields == {"max_retries", "bogus"}
    problem(client.get(ROUTER, headers=admin), 404)
    assert client.get("/v1/audit", params={"env": "prod"}, headers=admin).json()["items"] == []


def test_bad_requests_are_problems_not_500s(client: TestClient, admin: Headers) -> None:
    json_headers = {**admin, "Content-Type": "application/json"}
    assert (
        "not valid JSON"
        in problem(client.put(ROUTER, content=b'{"max_retries":', headers=json_headers), 400)[
            "detail"
        ]
    )
    problem(client.put(ROUTER, content=b"[1, 2]", headers=json_headers), 422)
    form = {**admin, "Content-Type": "application/x-www-form-urlencoded"}
    problem(client.put(ROUTER, content=b"a=1", headers=form), 415)
    big = b'{"description": "' + b"x" * 1_100_000 + b'"}'
    problem(client.put(FLAG, content=big, headers=json_headers), 413)
    problem(client.get("/v1/envs/bad name/entries/router/default", headers=admin), 400)
    assert (
        "unknown area"
        in problem(client.get("/v1/envs/prod/entries/nope/x", headers=admin), 404)["detail"]
    )
    problem(client.put("/v1/envs/prod/entries/router/other", json={}, headers=admin), 400)


def test_secrets_redacted_unless_an_admin_reveals(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    url = "/v1/envs/prod/entries/provider/openai"
    value = {"provider_type": "openai", "keys": [{"name": "main", "api_key": PLAIN}]}
    written = client.put(url, json=value, headers=admin)
    assert PLAIN not in written.text
    shown = client.get(url, headers=admin)
    assert shown.json()["value"]["keys"][0]["api_key"] == REDACTED
    assert PLAIN not in shown.text
    revealed = client.get(url, params={"reveal": True}, headers=admin).json()
    assert revealed["value"]["keys"][0]["api_key"] == PLAIN
    reader = make_token("reader")
    problem(client.get(url, params={"reveal": True}, headers=reader), 403)
    exported = client.get("/v1/envs/prod", headers=admin)
    assert PLAIN not in exported.text
    assert PLAIN not in client.get(url + "/history", headers=admin).text


def test_list_entries_and_read_your_writes(client: TestClient, admin: Headers) -> None:
    client.put(ROUTER, json={"max_retries": 2}, headers=admin)
    written = client.put(FLAG, json={"enabled": False}, headers=admin).json()
    listed = client.get(
        "/v1/envs/prod/entries", params={"min_position": written["position"]}, headers=admin
    )
    assert [(i["area"], i["key"]) for i in listed.json()["items"]] == [
        ("feature_flag", "beta"),
        ("router", "default"),
    ]
    assert listed.headers["x-config-position"] == str(written["position"])
    only = client.get("/v1/envs/prod/entries", params={"area": "router"}, headers=admin).json()
    assert [i["key"] for i in only["items"]] == ["default"]
    assert client.get("/v1/envs/empty/entries", headers=admin).json()["items"] == []
