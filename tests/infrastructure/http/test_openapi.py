"""The API honours its own OpenAPI document: for every operation schemathesis generates
valid and invalid calls, and no answer may be a 5xx, have an undocumented status code or
content type, or a body that does not match the documented schema.

The document is the one the app serves; ``/v1/changes`` (an endless event stream) stays
in it but is not called."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, engine
from schemathesis.checks import not_a_server_error
from schemathesis.engine import Status
from schemathesis.engine import events as engine_events
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.http.app import ROUTERS, create_app
from infrastructure.store import ConfigStore
from infrastructure.store import schedule as schedule_module
from tests.fuzz.budget import long_only, scaled
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

EXAMPLES_PER_OPERATION = 25  # CI's budget; the long one is LONG_EXAMPLES below
STREAM = "/v1/changes"
REVOKE = ("DELETE", "/v1/tokens/{name}")
# Path values naming seeded data (an entry with two versions, a snapshot, a scheduled
# change), or a free slot a PUT creates, so generated calls get past 400/404 into the
# handlers.
SEEDED_SCHEDULE = "sch-0000000000aa"
KNOWN = (
    {
        "env": "default",
        "area": "router",
        "key": "default",
        "name": "seeded",
        "schedule_id": SEEDED_SCHEDULE,
    },
    {
        "env": "default",
        "area": "cache",
        "key": "fresh",
        "name": "fresh",
        "schedule_id": "sch-0000000000ff",
    },
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operations() -> list[tuple[str, str]]:
    routes = (
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    )
    return sorted(
        (method, route.path) for route in routes for method in route.methods if route.path != STREAM
    )


OPERATIONS = _operations()


@dataclass(frozen=True)
class Api:
    app: FastAPI
    schema: schemathesis.BaseSchema


def _seed(store: ConfigStore) -> None:
    router = Address("default", "router", "default")
    store.set(router, {"max_retries": 4}, provenance=SETUP)
    store.patch(router, {"max_retries": 5}, provenance=SETUP)
    store.set(Address("default", "cache", "default"), {}, provenance=SETUP)
    store.set(Address("staging", "router", "default"), {"max_retries": 2}, provenance=SETUP)
    store.create_snapshot("default", "seeded", actor="setup", reason="schemathesis seed")
    with mock.patch.object(schedule_module, "new_schedule_id", return_value=SEEDED_SCHEDULE):
        later = datetime.now(UTC) + timedelta(days=365)
        store.schedule_change(router, "patch", {"max_retries": 6}, due_at=later, provenance=SETUP)


@pytest.fixture
def api(store: ConfigStore, tokens: TokenService) -> Iterator[Api]:
    """An app over a seeded store, and the OpenAPI document it serves."""
    _seed(store)
    head = store.projections.head()
    app = create_app(store=store, tokens=tokens, follow=False)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    @loaded.hook
    def map_query(_: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
        # A min_position past the log's head waits out the store's bound (10 s), then is
        # a 503 by design; keep generated ones within the log so the run stays fast.
        wanted = (query or {}).get("min_position")
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > head:
            return {**(query or {}), "min_position": head}
        return query

    yield Api(app, loaded)
    schemathesis.python.asgi.shutdown_lifespans()


def _cases(schema: schemathesis.BaseSchema, method: str, path: str) -> Any:
    """Generated cases of one operation, valid and invalid, with generated path values
    and with the known ones."""
    operation = schema[path][method]
    names = re.findall(r"{(\w+)}", path)
    fixed: list[dict[str, Any] | None] = [None]
    if names:
        fixed += [{name: known[name] for name in names} for known in KNOWN]
    return st.one_of(
        [
            operation.as_strategy(mode, path_parameters=path_parameters)
            for path_parameters in fixed
            for mode in GenerationMode
        ]
    )


def test_every_documented_operation_is_exercised(api: Api) -> None:
    documented = {
        (method.upper(), path)
        for path, methods in api.schema.raw_schema["paths"].items()
        for method in methods
    }
    assert documented - set(OPERATIONS) == {("GET", STREAM)}
    assert set(OPERATIONS) <= documented


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_document(
    method: str, path: str, api: Api, admin: Headers, make_token: TokenMaker
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(api.schema, method, path))
    def call(case: schemathesis.Case) -> None:
        # A revoke gets its own admin token, so the run never revokes the one it uses.
        headers = make_token("admin") if (method, path) == REVOKE else admin
        case.call_and_validate(app=api.app, headers=headers, checks=CHECKS)

    call()


SUCCESSES = [
    ("PUT", "/v1/envs/{env}/entries/{area}/{key}", KNOWN[1], {}, 201),
    ("PUT", "/v1/envs/{env}/entries/{area}/{key}", KNOWN[0], {"max_retries": 2}, 200),
    ("DELETE", "/v1/envs/{env}/snapshots/{name}", KNOWN[0], None, 204),
    ("DELETE", "/v1/tokens/{name}", {"name": "spare"}, None, 204),
    ("GET", "/metrics", {}, None, 200),
]


@pytest.mark.parametrize(("method", "path", "where", "body", "status"), SUCCESSES)
def test_success_answers_conform_to_the_document(
    method: str,
    path: str,
    where: dict[str, str],
    body: Any,
    status: int,
    api: Api,
    admin: Headers,
    make_token: TokenMaker,
) -> None:
    make_token("reader", name="spare")
    names = re.findall(r"{(\w+)}", path)
    case = api.schema[path][method].Case(
        path_parameters={name: where[name] for name in names},
        **({} if body is None else {"body": body}),
    )
    response = case.call_and_validate(app=api.app, headers=admin, checks=CHECKS)
    assert response.status_code == status


def test_nul_is_refused_and_the_projections_keep_going(client: TestClient, admin: Headers) -> None:
    for url in ("/v1/audit?actor=a%00b", "/v1/envs/default/snapshots/a%00b"):
        answer = client.get(url, headers=admin)
        assert (answer.status_code, answer.headers["content-type"]) == (
            400,
            "application/problem+json",
        )
    flag = "/v1/envs/qa/entries/feature_flag/f1"
    refused = client.put(flag, json={"description": "x\x00y"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body"
    token = {"name": "t1", "role": "reader", "reason": "\x00"}
    assert client.post("/v1/tokens", json=token, headers=admin).status_code == 422
    # An escaped backslash before "u0000" is plain text, not NUL.
    assert client.put(flag, json={"description": "\\u0000"}, headers=admin).status_code == 201
    assert client.get("/v1/envs/qa/entries", headers=admin).status_code == 200
    assert client.get("/v1/audit?env=qa", headers=admin).json()["items"][0]["key"] == "f1"


def test_method_not_allowed_names_the_allowed_ones(client: TestClient, admin: Headers) -> None:
    answer = client.request("TRACE", "/v1/tokens", headers=admin)
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# --- The long budget (CONDUIT_CONFIG_FUZZ_LONG=1): every phase, many more examples ------

LONG_EXAMPLES = 1_000  # per operation and phase (CI: EXAMPLES_PER_OPERATION above)


def _failures(event: Any) -> list[str]:
    """What one engine event reports as failed, as text."""
    if isinstance(event, engine_events.ScenarioFinished) and event.status == Status.FAILURE:
        return [
            f"{event.recorder.label} {check.name}: {check.failure_info}"
            for checks in event.recorder.checks.values()
            for check in checks
            if check.status == Status.FAILURE
        ]
    if isinstance(event, engine_events.NonFatalError):
        return [f"{event.label}: {event.value!r}"]
    if isinstance(event, engine_events.FatalError):
        return [f"engine: {event.exception!r}"]
    return []


@long_only
def test_every_phase_with_the_long_budget(api: Api, admin: Headers) -> None:
    """Schemathesis's own run, as its CLI does it: explicit examples, coverage (boundary
    and invalid values of every parameter), fuzzing with valid and invalid data, and
    stateful sequences, with the long budget; the same checks as above."""
    schema = api.schema.exclude(path=STREAM)

    @schema.hook
    def map_path_parameters(_: Any, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        if parameters and parameters.get("name") == "root-admin":  # keep the token it uses
            return {**parameters, "name": "not-the-admin"}
        return parameters

    schema.config.update(headers=admin)
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing", "stateful"])
    examples = scaled(LONG_EXAMPLES)
    schema.config.generation.update(max_examples=examples, modes=list(GenerationMode))
    schema.config.checks.update(included_check_names=[check.__name__ for check in CHECKS])
    failures = [text for event in engine.from_schema(schema).execute() for text in _failures(event)]
    assert not failures, "\n".join(failures[:20])
