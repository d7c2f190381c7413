"""Secrets attacked over HTTP (an adversarial review of issue 14): a revealing change
stream whose token is revoked while it is open, and other ways a caller who may not
(or no longer) reveal could still learn a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from infrastructure.crypto import AesGcmCodec, decode_key, generate_key
from tests.infrastructure.http.conftest import Headers, TokenMaker
from tests.infrastructure.http.server_support import sse_blocks
from tests.infrastructure.http.test_server import Serve, client, serve

__all__ = ["serve"]  # the fixture, used by name

OPENAI = "/v1/envs/prod/entries/provider/openai"


def provider(api_key: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "main", "api_key": api_key}]}


def test_a_revealing_stream_ends_when_its_token_is_revoked(serve: Serve) -> None:
    # Was: the stream kept its grant from when it opened and went on sending every new
    # secret in plaintext to a token revoked since (a new request was 401).
    server = serve()
    with client(server, server.token) as admin:
        made = admin.post(
            "/v1/tokens", json={"name": "gateway", "role": "service", "scopes": ["prod:provider"]}
        )
        assert made.status_code == 201, made.text
        first = admin.put(OPENAI, json=provider("sk-before-revoke")).json()["position"]
        with (
            client(server, made.json()["token"]) as gateway,
            gateway.stream(
                "GET", "/v1/changes", params={"env": "prod", "reveal": "true", "after": first - 1}
            ) as stream,
        ):
            blocks = sse_blocks(stream)
            assert next(blocks) == {"retry": "1000"}
            shown = json.loads(next(blocks)["data"])
            assert shown["value"]["keys"][0]["api_key"] == "sk-before-revoke"
            assert admin.delete("/v1/tokens/gateway").status_code == 204
            admin.put(OPENAI, json=provider("sk-AFTER-REVOKE"))
            later = []
            for block in blocks:  # until the server ends the stream
                later.append(block)
                if "sk-AFTER-REVOKE" in block.get("data", ""):
                    break
        assert later == []


def test_a_value_sealed_elsewhere_is_a_field_error_not_an_outage(
    client: TestClient, admin: Headers, make_token: TokenMaker
) -> None:
    # Was: 503 naming key ids, as if the store's keys were misconfigured; it is the
    # caller's value that no key of the store opens.
    foreign = AesGcmCodec(key=decode_key(generate_key(), source="f")).seal("sk-foreign")
    assert client.put(OPENAI, json=provider("sk-mine"), headers=admin).status_code == 201
    writer = make_token("writer", scopes=["prod:provider"])
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = {"area": "provider", "key": "openai", "operation": "set", "due_at": due}
    answers = {
        "put": client.put(OPENAI, json=provider(foreign), headers=writer),
        "patch": client.patch(OPENAI, json={"keys": provider(foreign)["keys"]}, headers=writer),
        "apply": client.post(
            "/v1/envs/prod/apply",
            json={"entries": {"provider": {"openai": provider(foreign)}}},
            headers=writer,
        ),
        "scheduled": client.post(
            "/v1/envs/prod/scheduled", json={**scheduled, "value": provider(foreign)}, headers=admin
        ),
    }
    fields = {}
    for name, answer in answers.items():
        assert answer.status_code == 422, (name, answer.text)
        assert foreign.split(":")[-1] not in answer.text
        errors = answer.json()["errors"]
        assert all("sealed with a key this store does not have" in e["message"] for e in errors)
        fields[name] = [e["field"] for e in errors]
    assert fields == {
        "put": ["keys.0.api_key"],
        "patch": ["keys.0.api_key"],
        "apply": ["entries.provider.openai.keys.0.api_key"],
        "scheduled": ["keys.0.api_key"],
    }
    assert client.get(OPENAI, headers=admin).json()["version"] == 1
    assert client.get("/v1/envs/prod/scheduled", headers=admin).json()["items"] == []
