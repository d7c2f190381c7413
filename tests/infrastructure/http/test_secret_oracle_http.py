"""No secret oracle over HTTP: a plan or a write answers a right guess of a stored secret
exactly as a wrong one, except to callers who may reveal the secret anyway; and the
schema, not a value's look, decides what is secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from domain.secrets import REDACTED
from tests.infrastructure.http.conftest import Headers, TokenMaker

ENV = "/v1/envs/prod"
PROVIDER = ENV + "/entries/provider/openai"
SETTING = ENV + "/entries/global_setting/motd"
PLAIN = "sk-http-oracle-91c2"
ORG = "enc:v1:abc"
TEXT = "enc:v2:xx:yy"


def provider(api_key: str) -> dict[str, Any]:
    key = {"name": "main", "api_key": api_key, "organization": ORG}
    return {"provider_type": "openai", "keys": [key]}


def doc(api_key: str) -> dict[str, Any]:
    return {"entries": {"provider": {"openai": provider(api_key)}}}


def fill(client: TestClient, admin: Headers) -> None:
    assert client.put(PROVIDER, json=provider(PLAIN), headers=admin).status_code == 201
    setting = {"value": TEXT}
    assert client.put(SETTING, json=setting, headers=admin).status_code == 201


def test_plan_by_a_scoped_reader_answers_right_and_wrong_guesses_alike(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    fill(client, admin)
    reader = make_token("reader", scopes=["prod:provider"])
    right = client.post(ENV + "/plan", json=doc(PLAIN), headers=reader)
    wrong = client.post(ENV + "/plan", json=doc("sk-wrong-guess"), headers=reader)
    assert right.status_code == wrong.status_code == 200
    assert right.json() == wrong.json()
    assert right.content == wrong.content
    (change,) = right.json()["changes"]
    assert (change["area"], change["key"], change["action"]) == ("provider", "openai", "update")
    assert PLAIN.encode() not in right.content
    assert client.get(PROVIDER, headers=admin).json()["version"] == 1  # a plan writes nothing


def test_plan_by_an_admin_tells_the_truth(client: TestClient, admin: Headers) -> None:
    fill(client, admin)
    right = client.post(ENV + "/plan", json=doc(PLAIN), headers=admin).json()
    wrong = client.post(ENV + "/plan", json=doc("sk-wrong-guess"), headers=admin).json()
    assert (right["changes"], right["unchanged"]) == ([], 1)
    assert [c["action"] for c in wrong["changes"]] == ["update"]


def test_writer_putting_the_same_plaintext_makes_a_new_version(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    fill(client, admin)
    writer = make_token("writer", scopes=["prod:provider"])
    right = client.put(PROVIDER, json=provider(PLAIN), headers=writer)
    assert right.status_code == 200
    assert (right.json()["changed"], right.json()["version"]) == (True, 2)
    wrong = client.put(PROVIDER, json=provider("sk-wrong-guess"), headers=writer)
    assert (wrong.json()["changed"], wrong.json()["version"]) == (True, 3)
    patched = client.patch(PROVIDER, json={"keys": provider(PLAIN)["keys"]}, headers=writer)
    assert (patched.json()["changed"], patched.json()["version"]) == (True, 4)
    # The placeholder keeps the stored secret: no change, and nothing to learn.
    kept = client.put(PROVIDER, json=provider(REDACTED), headers=writer).json()
    assert (kept["changed"], kept["version"]) == (False, 4)
    revealed = client.get(PROVIDER + "?reveal=true", headers=admin).json()
    assert revealed["value"]["keys"][0]["api_key"] == PLAIN


def test_writer_applying_the_same_plaintext_makes_a_change(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    fill(client, admin)
    writer = make_token("writer", scopes=["prod:provider"])
    applied = client.post(ENV + "/apply", json=doc(PLAIN), headers=writer).json()
    assert applied["applied"] and [c["action"] for c in applied["changes"]] == ["update"]


def test_admin_putting_the_same_plaintext_changes_nothing(
    client: TestClient, admin: Headers
) -> None:
    fill(client, admin)
    again = client.put(PROVIDER, json=provider(PLAIN), headers=admin)
    assert (again.json()["changed"], again.json()["version"]) == (False, 1)


def test_scheduled_same_plaintext_by_a_writer_is_a_change(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    fill(client, admin)
    writer = make_token("writer", scopes=["prod:provider"])
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"area": "provider", "key": "openai", "operation": "set", "due_at": due}
    made = client.post(ENV + "/scheduled", json={**body, "value": provider(PLAIN)}, headers=writer)
    assert made.status_code == 201
    value = made.json()["value"]
    assert value["keys"][0] == {"name": "main", "api_key": REDACTED, "organization": ORG}


def test_non_secret_text_is_shown_as_given(client: TestClient, admin: Headers) -> None:
    fill(client, admin)
    reader_view = client.get(PROVIDER, headers=admin).json()["value"]["keys"][0]
    assert (reader_view["api_key"], reader_view["organization"]) == (REDACTED, ORG)
    revealed = client.get(PROVIDER + "?reveal=true", headers=admin)
    assert revealed.status_code == 200
    assert revealed.json()["value"]["keys"][0] == {
        **revealed.json()["value"]["keys"][0],
        "api_key": PLAIN,
        "organization": ORG,
    }
    assert client.get(SETTING, headers=admin).json()["value"]["value"] == TEXT
    assert client.get(SETTING + "?reveal=true", headers=admin).json()["value"]["value"] == TEXT
    items = client.get(ENV + "/entries", headers=admin).json()["items"]
    shown = {item["area"]: item["value"] for item in items}
    assert shown["global_setting"]["value"] == TEXT
    assert shown["provider"]["keys"][0]["organization"] == ORG
    exported = client.get(ENV, headers=admin).json()["entries"]
    assert exported["global_setting"]["motd"]["value"] == TEXT
    assert exported["provider"]["openai"]["keys"][0]["organization"] == ORG
    history = client.get(SETTING + "/history", headers=admin).json()["items"]
    assert {"op": "add", "path": "/value", "value": TEXT} in history[0]["changes"]
    audit = client.get("/v1/audit", params={"env": "prod"}, headers=admin).json()["items"]
    ops = [op for row in audit for op in row["changes"]]
    assert {"op": "add", "path": "/value", "value": TEXT} in ops
    assert PLAIN not in repr(audit)
