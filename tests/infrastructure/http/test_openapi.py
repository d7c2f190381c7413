"""The API honours its own OpenAPI document: schemathesis generates valid and invalid
calls for every operation and checks that none is a 5xx and that every answer has a
documented status code, a documented content type and a body matching its schema."""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.http.app import create_app
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

EXAMPLES_PER_OPERATION = 15
ENV = "default"
SNAPSHOT = "seeded"
# Path values that name seeded data, so generated calls also reach existing entries,
# snapshots and tokens, not only 404s.
KNOWN = {"env": ENV, "area": "router", "key": "default", "name": SNAPSHOT}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _seed(store: ConfigStore) -> None:
    store.set(Address(ENV, "router", "default"), {"max_retries": 4}, provenance=SETUP)
    store.patch(Address(ENV, "router", "default"), {"max_retries": 5}, provenance=SETUP)
    store.set(Address(ENV, "cache", "default"), {}, provenance=SETUP)
    store.set(Address("staging", "router", "default"), {"max_retries": 2}, provenance=SETUP)
    store.create_snapshot(ENV, SNAPSHOT, actor="setup", reason="schemathesis seed")


@pytest.fixture
def api_schema(store: ConfigStore, tokens: TokenService) -> schemathesis.BaseSchema:
    """The app's own OpenAPI document, over an app on a seeded store."""
    _seed(store)
    app = create_app(store=store, tokens=tokens, follow=False)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    @loaded.hook
    def flatmap_path_parameters(_: Any, path_parameters: dict[str, Any]) -> Any:
        known = {name: KNOWN[name] for name in path_parameters if name in KNOWN}
        return st.sampled_from([path_parameters, {**path_parameters, **known}])

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/v1/changes")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, admin: Headers, make_token: TokenMaker
) -> None:
    headers = admin
    if case.method == "DELETE" and case.path == "/v1/tokens/{name}":
        headers = make_token("admin")  # a revoke never takes the run's own token
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_change_stream_stays_documented(client: Any) -> None:
    document = client.get("/openapi.json").json()
    stream = document["paths"]["/v1/changes"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in stream
