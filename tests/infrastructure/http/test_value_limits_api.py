"""Value limits over HTTP: a value beyond them is 422 naming the field (never a 5xx),
whether it is written with PUT, PATCH or scheduled, and nothing is appended."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers

VK = "/v1/envs/prod/entries/virtual_key/team-a"
KEY_HASH = "d" * 64


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def unprocessable(response: Any, field: str) -> list[dict[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, str]] = response.json()["errors"]
    assert any(e["field"].startswith(field) for e in errors), errors
    return errors


@pytest.fixture
def vk(client: TestClient, admin: Headers) -> str:
    assert client.put(VK, json={"key_hash": KEY_HASH}, headers=admin).status_code == 201
    return VK


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"metadata": ' + json.dumps(nested(250)) + "}", "metadata.a.a"),
        ('{"metadata": ' + '{"a": ' * 900 + "1" + "}" * 901, "metadata.a.a"),
        ('{"metadata": {"\\ud800": 1}}', "metadata.\\ud800"),
        ('{"rate_limit_rpm": 18446744073709551616}', "rate_limit_rpm"),
        ('{"metadata": {"n": 18446744073709551616}}', "metadata.n"),
        ('{"metadata": {"blob": "' + "x" * 300_000 + '"}}', "metadata"),
    ],
)
def test_values_beyond_the_limits_are_422_naming_the_field(
    client: TestClient, admin: Headers, store: ConfigStore, vk: str, body: str, field: str
) -> None:
    head = store.index.head()
    json_headers = {**admin, "Content-Type": "application/json"}
    put = body.replace("{", f'{{"key_hash": "{KEY_HASH}", ', 1)
    errors = unprocessable(client.put(vk, content=put, headers=json_headers), field)
    json.dumps(errors, ensure_ascii=False).encode("utf-8")  # no lone surrogate echoed
    unprocessable(client.patch(vk, content=body, headers=json_headers), field)
    due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    target = '"area": "virtual_key", "key": "team-a", "operation": "patch"'
    scheduled = f'{{{target}, "due_at": "{due}", "value": {body}}}'
    response = client.post("/v1/envs/prod/scheduled", content=scheduled, headers=json_headers)
    unprocessable(response, field)
    assert store.index.head() == head
    assert client.get(vk, headers=admin).json()["version"] == 1


@pytest.mark.parametrize(
    "document",
    [
        '{"entries": {"global_setting": {"\\ud800": {"value": "x"}}}}',
        '{"entries": {"glob\\ud800": {"k": {"value": "x"}}}}',
        '{"entries": {"global_setting": {"k": {"value": "x", "\\udc00": 1}}}}',
        '{"\\ud800": 1, "entries": {}}',
        json.dumps(
            {"entries": {"virtual_key": {"k": {"key_hash": KEY_HASH, "metadata": nested(100)}}}}
        ),
    ],
)
def test_documents_naming_unprintable_or_deep_fields_are_422(
    client: TestClient, admin: Headers, store: ConfigStore, document: str
) -> None:
    head = store.index.head()
    json_headers = {**admin, "Content-Type": "application/json"}
    for action in ("plan", "apply"):
        response = client.post(f"/v1/envs/prod/{action}", content=document, headers=json_headers)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        json.dumps(errors, ensure_ascii=False).encode("utf-8")  # no lone surrogate echoed
    assert store.index.head() == head
