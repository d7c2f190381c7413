from fastapi.testclient import TestClient

from domain.address import Address
from tests.infrastructure.http.conftest import SETUP


def test_probe(client: TestClient, admin, store) -> None:
    a = Address("prod", "provider", "openai")
    store.set(
        a,
        {
            "provider_type": "openai",
            "keys": [{"name": "main", "api_key": "sk-secret-1", "is_primary": True}],
        },
        provenance=SETUP,
    )
    print(client.get("/v1/envs/prod/entries/provider/openai", headers=admin).json())
    print(client.get("/v1/envs/prod/entries/provider/openai?reveal=true", headers=admin).json())
    print(client.get("/v1/envs/prod?include_secrets=true", headers=admin).json())
    print(client.get("/v1/envs/prod", headers=admin).json())
    r = client.get("/v1/audit?env=_system", headers=admin)
    print(r.status_code, r.json())
    r = client.get("/v1/envs/prod/entries/provider/openai")
    print(r.status_code, r.headers, r.json())
