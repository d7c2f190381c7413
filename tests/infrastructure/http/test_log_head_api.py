"""``GET /v1/log/head``: the chain's head, for admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from infrastructure.store import ConfigStore
from infrastructure.store.chain import head
from tests.chain_support import write_flags
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
