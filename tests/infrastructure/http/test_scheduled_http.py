"""``/v1/envs/{env}/scheduled``: schedule, list, read and cancel changes over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers, TokenMaker

BASE = "/v1/envs/prod/scheduled"
PLAIN = "sk-http-scheduled-secret-55"


def due(seconds: int = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "area": "router",
        "key": "default",
        "operation": "set",
        "value": {"max_retries": 6},
        "due_at": due(),
    }
    return {**base, **fields}


def test_schedule_list_read_cancel(
    client: TestClient, store: ConfigStore, make_token: TokenMaker
) -> None:
    writer = make_token("writer", name="ci")
    made = client.post(BASE, json=body(reason="night"), headers=writer)
    assert made.status_code == 201, made.text
    item = made.json()
    assert (item["status"], item["requested_by"], item["reason"]) == ("pending", "ci", "night")
    assert item["id"].startswith("sch-") and item["value"] == {"max_retries": 6}
    listed = client.get(BASE, headers=writer).json()
    assert listed == {"environment": "prod", "items": [item]}
    assert client.get(f"{BASE}/{item['id']}", headers=writer).json() == item
    assert client.get(f"/v1/envs/staging/scheduled/{item['id']}", headers=writer).status_code == 404
    assert client.get(f"{BASE}/sch-000000000000", headers=writer).status_code == 404
    gone = client.delete(f"{BASE}/{item['id']}", headers={**writer, "X-Change-Reason": "nope"})
    assert gone.status_code == 200, gone.text
    assert (gone.json()["status"], gone.json()["result"]) == ("cancelled", "cancelled by ci: nope")
    again = client.delete(f"{BASE}/{item['id']}", headers=writer)
    assert (again.status_code, again.headers["content-type"]) == (409, "application/problem+json")
    assert client.get(BASE, headers=writer).json()["items"] == []
    done = client.get(BASE + "?all=true", headers=writer).json()["items"]
    assert [d["status"] for d in done] == ["cancelled"]
    assert store.apply_due_changes(now=datetime.now(UTC) + timedelta(hours=2)) == []


def test_applied_change_shows_its_version_and_position(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    item = client.post(BASE, json=body(expected_version=0), headers=admin).json()
    [view] = store.apply_due_changes(now=datetime.now(UTC) + timedelta(hours=2))
    shown = client.get(f"{BASE}/{item['id']}", headers=admin).json()
    entry = client.get("/v1/envs/prod/entries/router/default", headers=admin).json()
    assert (shown["status"], shown["applied_version"]) == ("applied", 1)
    assert shown["applied_position"] == entry["position"] == view.applied_position
    history = client.get("/v1/envs/prod/entries/router/default/history", headers=admin).json()
    assert [(h["source"], h["actor"]) for h in history["items"]] == [("scheduler", "root-admin")]
    refused = client.delete(f"{BASE}/{item['id']}", headers=admin)
    assert refused.status_code == 409


def test_roles_and_scopes(client: TestClient, store: ConfigStore, make_token: TokenMaker) -> None:
    admin = make_token("admin")
    router = client.post(BASE, json=body(), headers=admin).json()
    flag = body(area="feature_flag", key="f", value={"enabled": True})
    other = client.post(BASE, json=flag, headers=admin).json()
    reader = make_token("reader")
    scoped = make_token("writer", scopes=["prod:router"])
    head = store.index.head()
    assert client.post(BASE, json=body(), headers=reader).status_code == 403
    assert client.post(BASE, json=flag, headers=scoped).status_code == 403
    assert client.delete(f"{BASE}/{router['id']}", headers=reader).status_code == 403
    # Another area's change is "not found", as an unknown id (no oracle of ids).
    assert client.delete(f"{BASE}/{other['id']}", headers=scoped).status_code == 404
    assert client.get(f"{BASE}/{other['id']}", headers=scoped).status_code == 404
    assert client.get("/v1/envs/staging/scheduled", headers=scoped).status_code == 403
    assert client.get(BASE).status_code == 401
    assert store.index.head() == head
    seen = client.get(BASE, headers=scoped).json()["items"]
    assert [s["id"] for s in seen] == [router["id"]]
    assert len(client.get(BASE, headers=reader).json()["items"]) == 2
    assert client.post(BASE, json=body(), headers=scoped).status_code == 201
    assert client.delete(f"{BASE}/{router['id']}", headers=scoped).status_code == 200


def test_bad_input_is_refused_and_nothing_is_recorded(
    client: TestClient, store: ConfigStore, admin: Headers
) -> None:
    head = store.index.head()
    cases: list[tuple[dict[str, Any], int, str]] = [
        (body(due_at="2000-01-01T00:00:00Z"), 422, "at"),
        (body(due_at="2099-01-01T00:00:00"), 422, "due_at"),
        (body(value={"max_retries": 99}), 422, "max_retries"),
        (body(operation="rename"), 422, "operation"),
        (body(operation="delete"), 422, "value"),
        (body(expected_version=-1), 422, "expected_version"),
        (body(surprise=1), 422, "surprise"),
        (body(area="nope"), 404, ""),
        (body(key="bad key"), 400, ""),
    ]
    for sent, status, field in cases:
        answer = client.post(BASE, json=sent, headers=admin)
        assert answer.status_code == status, (sent, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        if field:
            assert field in [e["field"] for e in answer.json()["errors"]], answer.text
    assert client.post("/v1/envs/_system/scheduled", json=body(), headers=admin).status_code == 400
    assert store.index.head() == head


def test_secrets_are_redacted(client: TestClient, store: ConfigStore, admin: Headers) -> None:
    value = {"provider_type": "openai", "keys": [{"name": "k", "api_key": PLAIN}]}
    made = client.post(BASE, json=body(area="provider", key="openai", value=value), headers=admin)
    assert made.status_code == 201, made.text
    assert PLAIN not in made.text and made.json()["value"]["keys"][0]["api_key"] == "********"
    assert PLAIN not in client.get(BASE, headers=admin).text
    store.apply_due_changes(now=datetime.now(UTC) + timedelta(hours=2))
    stored = store.get(Address("prod", "provider", "openai"))
    assert store.revealed(stored.value, "prod", "provider")["keys"][0]["api_key"] == PLAIN
