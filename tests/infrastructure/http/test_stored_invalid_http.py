"""Over HTTP, a stored value that today's rules refuse never makes a whole-environment
read fail: the rest is served and ``problems`` names it (to tokens that may see its
area); the entry itself answers 422 ``invalid-stored-value``; promote skips it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.address import Address
from domain.stored import STORED_VALUE_TYPE
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers, TokenMaker
from tests.infrastructure.test_projections import who
from tests.stored_support import nested, write_unchecked

ENV = "/v1/envs/prod"
DEEP = Address("prod", "virtual_key", "deep")
PROBLEM = {"entry": "virtual_key/deep", "area": "virtual_key", "key": "deep"}


def _fill(store: ConfigStore) -> None:
    write_unchecked(store, DEEP, {"key_hash": "a" * 64, "metadata": nested(300)})
    store.set(Address("prod", "feature_flag", "a"), {"enabled": True}, provenance=who())
    write_unchecked(store, Address("prod", "router", "default"), {"max_retries": 50})


def _named(body: dict[str, object]) -> list[str]:
    problems = body.get("problems", [])
    assert isinstance(problems, list)
    return [p["entry"] for p in problems]


def test_reads_serve_the_rest_and_name_the_bad_entries(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _fill(store)
    bad = ["router/default", "virtual_key/deep"]

    exported = client.get(ENV, headers=admin)
    assert exported.status_code == 200
    assert exported.json()["entries"] == {"feature_flag": {"a": {"enabled": True}}}
    assert _named(exported.json()) == bad
    assert "leaf" not in exported.text  # the bad value is never echoed

    state = client.get(ENV + "/state", headers=admin)
    assert state.status_code == 200
    assert [e["key"] for e in state.json()["entries"]] == ["a"]
    deep = state.json()["problems"][1]
    assert {k: deep[k] for k in PROBLEM} == PROBLEM and "levels deep" in deep["reason"]

    listed = client.get(ENV + "/entries", headers=admin)
    assert [i["key"] for i in listed.json()["items"]] == ["a"]
    assert _named(listed.json()) == bad

    diff = client.get(ENV + "/diff", params={"from": "0"}, headers=admin)
    assert [c["key"] for c in diff.json()["changes"]] == ["a"]
    assert _named(diff.json()) == bad

    created = client.post(ENV + "/snapshots", json={"name": "s"}, headers=admin)
    assert created.status_code == 201 and _named(created.json()) == bad
    shown = client.get(ENV + "/snapshots/s", headers=admin).json()
    assert shown["entries"] == {"feature_flag": {"a": {"enabled": True}}}
    assert _named(shown) == bad


def test_the_bad_entry_answers_422_invalid_stored_value(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _fill(store)
    for path in ("/entries/virtual_key/deep", "/entries/router/default"):
        answer = client.get(ENV + path, headers=admin)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["type"] == STORED_VALUE_TYPE
        assert body["entry"] == path.removeprefix("/entries/")
        assert "not valid under the current rules" in body["detail"]
    assert "max_retries" in answer.json()["reason"]


def test_promote_skips_the_bad_entries(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _fill(store)
    answer = client.post(
        "/v1/envs/staging/promote", json={"source": "prod", "prune": True}, headers=admin
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [(c["area"], c["key"]) for c in body["changes"]] == [("feature_flag", "a")]
    assert _named({"problems": body["skipped"]}) == ["router/default", "virtual_key/deep"]
    staging = client.get("/v1/envs/staging", headers=admin).json()
    assert staging["entries"] == {"feature_flag": {"a": {"enabled": True}}}
    assert "problems" not in staging


def test_a_scoped_token_hears_only_of_its_own_areas(
    client: TestClient, make_token: TokenMaker, store: ConfigStore
) -> None:
    _fill(store)
    flags = make_token("reader", scopes=["prod:feature_flag"])
    router = make_token("reader", scopes=["prod:router"])
    for path in ("", "/state", "/entries"):
        assert "problems" not in client.get(ENV + path, headers=flags).json()
        assert _named(client.get(ENV + path, headers=router).json()) == ["router/default"]


def test_audit_and_history_show_the_change_without_its_value(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    _fill(store)
    audit = client.get("/v1/audit", params={"env": "prod"}, headers=admin)
    assert audit.status_code == 200
    rows = {(r["area"], r["key"]): r["changes"] for r in audit.json()["items"]}
    assert rows["feature_flag", "a"] == [{"op": "add", "path": "/enabled", "value": True}]
    omitted = [op for op in rows["virtual_key", "deep"] if "omitted" in op]
    assert omitted == [{"op": "add", "path": "/metadata", "omitted": omitted[0]["omitted"]}]
    assert "levels deep" in omitted[0]["omitted"]
    history = client.get(ENV + "/entries/virtual_key/deep/history", headers=admin)
    assert history.status_code == 200
    assert history.json()["items"][0]["changes"] == rows["virtual_key", "deep"]
