"""``GET /v1/keys`` and ``POST /v1/rekey`` (admin)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.crypto import decode_key, generate_key, key_id
from infrastructure.http.app import create_app
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY, StoreOpener
from tests.infrastructure.http.conftest import SETUP

OPENAI = Address("default", "provider", "openai")
PLAIN = "sk-http-keys-0042"
OLD_ID = key_id(decode_key(TEST_SECRET_KEY, source="t"))


def provider(api_key: str) -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": "k", "api_key": api_key}]}


def bearer(tokens: TokenService, role: str) -> dict[str, str]:
    issued = tokens.create(f"{role}-keys", role=role, provenance=SETUP)
    return {"Authorization": f"Bearer {issued.token}"}


def test_keys_and_rekey_over_http(store: ConfigStore, open_test_store: StoreOpener) -> None:
    store.set(OPENAI, provider(PLAIN), provenance=SETUP)
    new = generate_key()
    new_id = key_id(decode_key(new, source="t"))
    with open_test_store(secret_key=new, retired_secret_keys=TEST_SECRET_KEY) as rotated:
        tokens = TokenService(store=rotated, cache_seconds=0)
        admin, writer = bearer(tokens, "admin"), bearer(tokens, "writer")
        with TestClient(create_app(store=rotated, tokens=tokens)) as client:
            assert client.get("/v1/keys", headers=writer).status_code == 403
            assert (
                client.post("/v1/rekey", json={"env": "default"}, headers=writer).status_code == 403
            )
            listed = client.get("/v1/keys", headers=admin).json()
            assert listed["current"] == new_id
            counts = {k["key_id"]: (k["values"], k["recorded"]) for k in listed["keys"]}
            assert counts == {OLD_ID: (1, True), new_id: (0, False)}
            refused = client.post("/v1/rekey", json={"env": "default"}, headers=admin)
            assert refused.status_code == 503
            assert "is new to this store" in refused.json()["detail"]
            both = client.post(
                "/v1/rekey", json={"env": "default", "all_envs": True}, headers=admin
            )
            assert both.status_code == 422
            plan = client.post(
                "/v1/rekey", json={"all_envs": True, "dry_run": True}, headers=admin
            ).json()
            assert plan["environments"][0]["entries"] == ["provider/openai"]
            assert not plan["environments"][0]["applied"]
            done = client.post(
                "/v1/rekey",
                json={"env": "default", "new_key": True, "reason": "rotate"},
                headers=admin,
            )
            assert done.status_code == 200, done.text
            body = done.json()
            assert body["key_id"] == new_id
            assert body["environments"][0]["secrets"] == 1
            assert int(done.headers["X-Config-Position"]) == body["environments"][0]["position"]
            shown = client.get("/v1/envs/default/entries/provider/openai", headers=admin).json()
            assert shown["value"]["keys"][0]["api_key"] == "********"
            after = client.get("/v1/keys?env=default", headers=admin).json()
            assert {k["key_id"]: k["values"] for k in after["keys"]} == {OLD_ID: 0, new_id: 1}
        sealed = rotated.get(OPENAI).stored["keys"][0]["api_key"]
        assert sealed.startswith(f"enc:v2:{new_id}:")
        assert rotated.codec is not None and rotated.codec.open(sealed) == PLAIN
        assert rotated.history(OPENAI)[-1].source == "rekey"
