"""Findings of the second adversarial review of issue 13 (hostile input over HTTP)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.http.app import create_app
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers
from tests.infrastructure.test_projections import who
from tests.stored_support import nested, write_unchecked


async def _answer_start(app: Any, path: str, query: str, headers: Headers) -> dict[str, Any]:
    """The status and first body of a GET, without waiting for a stream to end (the
    change stream never does): the app is cancelled after its first body message."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    got: dict[str, Any] = {}
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if "request" not in got:
            got["request"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got["status"] = message["status"]
        elif message["type"] == "http.response.body" and "body" not in got:
            got["body"] = message.get("body", b"")
            done.set()

    task = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return got


@pytest.mark.parametrize(
    ("name", "query", "extra"),
    [
        ("Last-Event-ID", "", {"Last-Event-ID": "100000"}),
        ("after", "after=100000", {}),
    ],
)
def test_a_change_stream_starting_past_the_head_is_400_not_a_silent_stream(
    store: ConfigStore,
    tokens: TokenService,
    admin: Headers,
    name: str,
    query: str,
    extra: Headers,
) -> None:
    # Was: 200 and a stream that skipped every change up to 100000, sending only
    # keep-alives meanwhile (an id kept from another or a restored database).
    store.set(Address("prod", "feature_flag", "a"), {"enabled": True}, provenance=who())
    app = create_app(store=store, tokens=tokens)
    got = asyncio.run(_answer_start(app, "/v1/changes", query, {**admin, **extra}))
    assert got["status"] == 400
    detail = json.loads(got["body"])["detail"]
    assert detail.startswith(f"{name}: position 100000 is beyond the last position")


def test_a_change_stream_resuming_at_the_head_still_streams(
    store: ConfigStore, tokens: TokenService, admin: Headers
) -> None:
    position = store.set(
        Address("prod", "feature_flag", "a"), {"enabled": True}, provenance=who()
    ).position
    app = create_app(store=store, tokens=tokens)
    resume = {**admin, "Last-Event-ID": str(position)}
    got = asyncio.run(_answer_start(app, "/v1/changes", "", resume))
    assert got["status"] == 200 and got["body"].startswith(b"retry:")


def test_undelete_refuses_a_last_value_that_todays_rules_refuse(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    # Was: 200, bringing back a value deeper than the limit (rollback to it was 422).
    address = Address("prod", "virtual_key", "deep")
    write_unchecked(store, address, {"key_hash": "a" * 64, "metadata": nested(40)})
    entry = "/v1/envs/prod/entries/virtual_key/deep"
    assert client.delete(entry, headers=admin).status_code == 200
    head = store.index.head()

    answer = client.post(entry + "/undelete", json={}, headers=admin)
    assert answer.status_code == 422
    assert "is nested deeper than 32 levels" in answer.json()["detail"]
    assert store.index.head() == head  # nothing appended
    assert client.get(entry, headers=admin).status_code == 404


def test_undelete_of_a_valid_last_value_still_works(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    entry = "/v1/envs/prod/entries/feature_flag/a"
    assert client.put(entry, json={"enabled": True}, headers=admin).status_code == 201
    assert client.delete(entry, headers=admin).status_code == 200
    assert client.post(entry + "/undelete", json={}, headers=admin).status_code == 200
    assert client.get(entry, headers=admin).json()["value"]["enabled"] is True


def test_undelete_of_an_entry_with_a_secret_still_works(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    entry = "/v1/envs/prod/entries/provider/openai"
    body = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-live-123"}]}
    assert client.put(entry, json=body, headers=admin).status_code == 201
    assert client.delete(entry, headers=admin).status_code == 200
    assert client.post(entry + "/undelete", json={}, headers=admin).status_code == 200
    revealed = client.get(entry, params={"reveal": "true"}, headers=admin).json()
    assert revealed["value"]["keys"][0]["api_key"] == "sk-live-123"
