"""Secrets attacked over HTTP (an adversarial review of issue 14): a revealing change
stream whose token is revoked while it is open, and other ways a caller who may not
(or no longer) reveal could still learn a secret."""

from __future__ import annotations

import json
from typing import Any

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
