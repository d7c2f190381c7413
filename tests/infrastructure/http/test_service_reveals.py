"""The service role over HTTP and the record of reveals: a service token reads its scope
with provider keys revealed (an entry, the whole environment, the state a client loads),
each reveal is recorded once per entry version (who, role, where from, through what),
admins read the record (``/v1/reveals``, ``/metrics``), and a reveal whose record cannot
be written reveals nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker
from tests.infrastructure.test_reveals import count_statements, statements

KEY_1, KEY_2, STAGING_KEY = "sk-live-1", "sk-live-2", "sk-staging"
OPENAI = "/v1/envs/prod/entries/provider/openai"
SCOPE = ["prod:provider,model_mapping"]


def provider(*keys: str) -> dict[str, Any]:
    listed = [{"name": f"k{i}", "api_key": k, "is_primary": i == 0} for i, k in enumerate(keys)]
    return {"provider_type": "openai", "keys": listed}


@pytest.fixture
def seeded(store: ConfigStore) -> ConfigStore:
    """prod: provider openai (v1), groq (v2), a model mapping and a router;
    staging: a provider."""

    def put(env: str, area: str, key: str, value: dict[str, Any]) -> None:
        store.set(Address(env, area, key), value, provenance=SETUP)

    put("prod", "provider", "openai", provider(KEY_1))
    put("prod", "provider", "groq", provider("sk-groq-old"))
    put("prod", "provider", "groq", provider(KEY_2))
    put("prod", "model_mapping", "gpt", {"provider": "openai", "provider_model": "gpt-4o"})
    put("prod", "router", "default", {"max_retries": 2})
    put("staging", "provider", "openai", provider(STAGING_KEY))
    return store


@pytest.fixture
def gateway(make_token: TokenMaker) -> Headers:
    """The gateway's service token, scoped to prod's providers and model mappings."""
    return make_token("service", name="gateway", scopes=SCOPE)


def reveals(client: TestClient, admin: Headers, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/v1/reveals{query}", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def entries_of(items: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return sorted((i["environment"], i["area"], i["key"], i["version"]) for i in items)


def api_keys(value: dict[str, Any]) -> list[str]:
    return [k["api_key"] for k in value["keys"]]


def test_service_reads_one_entry_revealed_and_it_is_recorded(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers
) -> None:
    response = client.get(OPENAI + "?reveal=true", headers=gateway)
    assert response.status_code == 200, response.text
    assert api_keys(response.json()["value"]) == [KEY_1]
    [record] = reveals(client, admin)
    assert {k: v for k, v in record.items() if k not in ("id", "revealed_at")} == {
        "actor": "gateway",
        "role": "service",
        "environment": "prod",
        "area": "provider",
        "key": "openai",
        "version": 1,
        "from": "testclient",
        "via": "get",
    }
    at_v1 = client.get("/v1/envs/prod/entries/provider/groq?reveal=true&version=1", headers=gateway)
    assert api_keys(at_v1.json()["value"]) == ["sk-groq-old"]
    assert entries_of(reveals(client, admin))[0] == ("prod", "provider", "groq", 1)


def test_a_read_without_reveal_is_redacted_and_not_recorded(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers
) -> None:
    plain = client.get(OPENAI, headers=gateway).json()["value"]
    assert api_keys(plain) == ["********"]
    listed = client.get("/v1/envs/prod/entries", headers=gateway).json()["items"]
    assert {(i["area"], i["key"]) for i in listed} == {
        ("provider", "openai"),
        ("provider", "groq"),
        ("model_mapping", "gpt"),
    }
    assert KEY_1 not in client.get("/v1/envs/prod", headers=gateway).text
    assert reveals(client, admin) == []


def test_an_entry_without_secrets_is_read_but_no_reveal_is_recorded(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers
) -> None:
    response = client.get("/v1/envs/prod/entries/model_mapping/gpt?reveal=true", headers=gateway)
    assert response.json()["value"]["provider_model"] == "gpt-4o"
    assert reveals(client, admin) == []


@pytest.mark.parametrize(
    ("path", "via"),
    [("/v1/envs/prod?reveal=true", "env"), ("/v1/envs/prod/state?reveal=true", "client")],
)
def test_whole_environment_revealed_in_scope_one_record_per_entry_in_one_statement(
    seeded: ConfigStore,
    client: TestClient,
    gateway: Headers,
    admin: Headers,
    db: psycopg.Connection[Any],
    schema: str,
    path: str,
    via: str,
) -> None:
    count_statements(db, schema)
    response = client.get(path, headers=gateway)
    assert response.status_code == 200, response.text
    body = response.json()
    if via == "env":
        assert set(body["entries"]) == {"provider", "model_mapping"}
        shown = {k: api_keys(v) for k, v in body["entries"]["provider"].items()}
    else:
        assert {e["area"] for e in body["entries"]} == {"provider", "model_mapping"}
        providers = [e for e in body["entries"] if e["area"] == "provider"]
        shown = {e["key"]: api_keys(e["stored"]) for e in providers}
    assert shown == {"openai": [KEY_1], "groq": [KEY_2]}
    assert STAGING_KEY not in response.text
    assert statements(db, schema) == 1
    records = reveals(client, admin)
    assert entries_of(records) == [
        ("prod", "provider", "groq", 2),
        ("prod", "provider", "openai", 1),
    ]
    assert {(r["actor"], r["role"], r["via"], r["from"]) for r in records} == {
        ("gateway", "service", via, "testclient")
    }


def test_an_admin_reveal_is_recorded_with_its_role(
    seeded: ConfigStore, client: TestClient, admin: Headers
) -> None:
    assert api_keys(client.get(OPENAI + "?reveal=true", headers=admin).json()["value"]) == [KEY_1]
    exported = client.get("/v1/envs/staging?reveal=true", headers=admin).json()
    assert api_keys(exported["entries"]["provider"]["openai"]) == [STAGING_KEY]
    records = reveals(client, admin)
    assert [(r["actor"], r["role"], r["environment"], r["via"]) for r in records] == [
        ("root-admin", "admin", "staging", "env"),
        ("root-admin", "admin", "prod", "get"),
    ]


@pytest.mark.parametrize("role", ["reader", "writer"])
@pytest.mark.parametrize(
    "path",
    [
        OPENAI + "?reveal=true",
        "/v1/envs/prod?reveal=true",
        "/v1/envs/prod/state?reveal=true",
        "/v1/changes?env=prod&reveal=true",
    ],
)
def test_readers_and_writers_may_not_reveal(
    seeded: ConfigStore,
    client: TestClient,
    make_token: TokenMaker,
    admin: Headers,
    role: str,
    path: str,
) -> None:
    response = client.get(path, headers=make_token(role))
    assert response.status_code == 403, response.text
    assert "revealing secrets needs service or admin" in response.json()["detail"]
    assert KEY_1 not in response.text
    assert reveals(client, admin) == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/envs/prod/entries/router/default?reveal=true",
        "/v1/envs/staging/entries/provider/openai?reveal=true",
        "/v1/envs/staging?reveal=true",
        "/v1/envs/staging/state?reveal=true",
        "/v1/changes?env=staging&reveal=true",
        "/v1/changes?env=prod&area=router&reveal=true",
        "/v1/envs/prod/entries/router/default",
        "/v1/envs/staging",
        "/v1/audit?env=_system",
        "/v1/changes?env=_system&reveal=true",
        "/v1/changes?env=_system",
        "/v1/tokens",
        "/v1/reveals",
        "/v1/reveals?env=prod",
        "/v1/envs/prod?include_secrets=true",
    ],
)
def test_service_stays_in_its_scope(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers, path: str
) -> None:
    response = client.get(path, headers=gateway)
    assert response.status_code == 403, response.text
    assert STAGING_KEY not in response.text and KEY_1 not in response.text
    assert reveals(client, admin) == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/envs/_system/entries/access_token/root-admin?reveal=true",  # not a name here
        "/v1/envs/_system?reveal=true",
        "/v1/changes?reveal=true",  # a revealing stream names its environment
        "/v1/envs/prod?reveal=true&include_secrets=true",  # plaintext or sealed, not both
        "/v1/envs/prod/state?reveal=true&include_secrets=true",
    ],
)
def test_malformed_reveals_are_refused(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers, path: str
) -> None:
    for headers in (gateway, admin):
        response = client.get(path, headers=headers)
        assert response.status_code == 400, response.text
        assert KEY_1 not in response.text
    assert reveals(client, admin) == []


def test_a_reveal_whose_record_fails_reveals_nothing(
    seeded: ConfigStore,
    client: TestClient,
    gateway: Headers,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    db.execute(f'ALTER TABLE "{schema}".cc_reveals RENAME TO cc_reveals_gone')
    for path in (
        OPENAI + "?reveal=true",
        "/v1/envs/prod?reveal=true",
        "/v1/envs/prod/state?reveal=true",
    ):
        response = client.get(path, headers=gateway)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "could not record the reveal" in response.json()["detail"]
        assert KEY_1 not in response.text and KEY_2 not in response.text
    assert client.get(OPENAI, headers=gateway).status_code == 200  # no reveal: served


def test_reveals_route_filters_and_pages(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers
) -> None:
    client.get(OPENAI + "?reveal=true", headers=gateway)
    client.get("/v1/envs/staging/entries/provider/openai?reveal=true", headers=admin)
    client.get("/v1/envs/prod/entries/provider/groq?reveal=true", headers=gateway)
    everything = reveals(client, admin)
    assert [(r["actor"], r["environment"], r["key"]) for r in everything] == [
        ("gateway", "prod", "groq"),
        ("root-admin", "staging", "openai"),
        ("gateway", "prod", "openai"),
    ]
    assert [r["key"] for r in reveals(client, admin, "?env=prod")] == ["groq", "openai"]
    assert [r["environment"] for r in reveals(client, admin, "?actor=root-admin")] == ["staging"]
    page = client.get("/v1/reveals?limit=2", headers=admin).json()
    assert page["next_before"] == everything[1]["id"]
    rest = client.get(f"/v1/reveals?limit=2&before={page['next_before']}", headers=admin).json()
    assert [r["id"] for r in page["items"] + rest["items"]] == [r["id"] for r in everything]
    assert rest["next_before"] is None
    assert reveals(client, admin, "?since=2999-01-01T00:00:00Z") == []
    assert client.get("/v1/reveals?since=soon", headers=admin).status_code == 400


def test_reveals_route_is_for_admins(
    seeded: ConfigStore, client: TestClient, make_token: TokenMaker
) -> None:
    for role in ("reader", "service", "writer"):
        assert client.get("/v1/reveals", headers=make_token(role)).status_code == 403
    scoped = make_token("admin", scopes=["prod"])
    assert client.get("/v1/reveals", headers=scoped).status_code == 403
    assert client.get("/v1/reveals?env=staging", headers=scoped).status_code == 403
    assert client.get("/v1/reveals?env=prod", headers=scoped).status_code == 200


def test_metrics_count_reveals_by_role(
    seeded: ConfigStore, client: TestClient, gateway: Headers, admin: Headers
) -> None:
    client.get("/v1/envs/prod?reveal=true", headers=gateway)  # two providers
    client.get(OPENAI + "?reveal=true", headers=admin)
    text = client.get("/metrics").text
    assert 'conduit_config_secret_reveals_total{role="service"} 2.0' in text
    assert 'conduit_config_secret_reveals_total{role="admin"} 1.0' in text
