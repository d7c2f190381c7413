"""``GET /v1/log/head``: the chain's head, for admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from infrastructure.store.chain import head
from tests.chain_support import KEY_A, write_flags
from tests.conftest import StoreOpener
from tests.infrastructure.http.conftest import Headers, TokenMaker


def test_log_head_is_the_chain_head(client: TestClient, admin: Headers, store: ConfigStore) -> None:
    write_flags(store, 3)
    found = head(store)
    assert found is not None
    answer = client.get("/v1/log/head", headers=admin)
    assert answer.status_code == 200
    assert answer.json() == {
        "position": found.position,
        "hash": found.hash,
        "keyed": False,
        "key_id": None,
        "head": f"{found.position}:{found.hash}",
    }


def test_log_head_is_for_admins(client: TestClient, make_token: TokenMaker) -> None:
    for role in ("reader", "writer"):
        answer = client.get("/v1/log/head", headers=make_token(role))
        assert answer.status_code == 403
    assert client.get("/v1/log/head").status_code == 401


def test_a_server_without_the_audit_key_refuses_writes(
    open_test_store: StoreOpener, client: TestClient, admin: Headers
) -> None:
    with open_test_store(audit_key=KEY_A) as keyed:
        write_flags(keyed, 1)
    answer = client.put(
        "/v1/envs/default/entries/router/default", json={"max_retries": 5}, headers=admin
    )
    assert answer.status_code == 503
    assert "set CONDUIT_CONFIG_AUDIT_KEY" in answer.json()["detail"]
    assert client.get("/v1/envs/default/entries/router/default", headers=admin).status_code == 404
