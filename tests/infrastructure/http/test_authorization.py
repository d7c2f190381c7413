"""Authorization matrix of the HTTP API: every /v1 route against missing and bad tokens,
each role, and scoped tokens; a refused call must change nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from domain.access import Role
from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.store import ConfigStore
from infrastructure.store import schedule as schedule_module
from tests.infrastructure.http.conftest import SETUP, Headers, TokenMaker

E = "/v1/envs/prod/entries/router/default"
PROVIDER = "/v1/envs/prod/entries/provider/openai"
SNAPSHOTS = "/v1/envs/prod/snapshots"
ROUTER_DOC = {"entries": {"router": {"default": {"max_retries": 7}}}}
SECRET = "sk-secret-1"
FLAG = "/v1/envs/prod/entries/feature_flag/gone"
AUDIT_PROD = ["feature_flag/2", "router/2", "feature_flag/1", "provider/1", "router/1"]
SCHEDULED = "/v1/envs/prod/scheduled"
SCHEDULE_ID = "sch-00000000000a"
LATER = (datetime.now(UTC) + timedelta(days=365)).isoformat()
SCHEDULE_BODY = {"area": "router", "key": "default", "operation": "set", "due_at": LATER}
ROUTER_LATER = {**SCHEDULE_BODY, "value": {"max_retries": 8}}
R, W, A = Role.READER, Role.WRITER, Role.ADMIN
#: Routes that show secrets in plaintext: for service and admin tokens only.
REVEALING = {"get-reveal", "export-reveal", "state-reveal"}


class Route(NamedTuple):
    method: str
    path: str
    body: Any
    role: Role  # the least role that may call it
    status: int  # the answer to that role


ROUTES: dict[str, Route] = {
    "get": Route("GET", E, None, R, 200),
    "get-reveal": Route("GET", PROVIDER + "?reveal=true", None, A, 200),
    "export-reveal": Route("GET", "/v1/envs/prod?reveal=true", None, A, 200),
    "state-reveal": Route("GET", "/v1/envs/prod/state?reveal=true", None, A, 200),
    "put": Route("PUT", E, {"max_retries": 9}, W, 200),
    "patch": Route("PATCH", E, {"max_retries": 4}, W, 200),
    "delete": Route("DELETE", E, None, W, 200),
    "undelete": Route("POST", FLAG + "/undelete", None, W, 200),
    "rollback": Route("POST", E + "/rollback", {"to_version": 1}, W, 200),
    "history": Route("GET", E + "/history", None, R, 200),
    "diff": Route("GET", E + "/diff?from=1&to=2", None, R, 200),
    "list": Route("GET", "/v1/envs/prod/entries", None, R, 200),
    "export": Route("GET", "/v1/envs/prod", None, R, 200),
    "export-secrets": Route("GET", "/v1/envs/prod?include_secrets=true", None, A, 200),
    "env-diff": Route("GET", "/v1/envs/prod/diff?from=base", None, R, 200),
    "plan": Route("POST", "/v1/envs/prod/plan", ROUTER_DOC, R, 200),
    "apply": Route("POST", "/v1/envs/prod/apply", ROUTER_DOC, W, 200),
    "restore": Route("POST", "/v1/envs/prod/restore", {"to_snapshot": "base"}, W, 200),
    "promote": Route("POST", "/v1/envs/prod/promote", {"source": "staging"}, W, 200),
    "snapshots": Route("GET", SNAPSHOTS, None, R, 200),
    "snapshot-create": Route("POST", SNAPSHOTS, {"name": "next"}, W, 201),
    "snapshot-show": Route("GET", SNAPSHOTS + "/base", None, R, 200),
    "snapshot-delete": Route("DELETE", SNAPSHOTS + "/base", None, W, 204),
    "audit": Route("GET", "/v1/audit?env=prod", None, R, 200),
    "audit-system": Route("GET", "/v1/audit?env=_system", None, A, 200),
    "changes": Route("GET", "/v1/changes?env=prod", None, R, 200),  # never streamed here
    "areas": Route("GET", "/v1/areas", None, R, 200),
    "area-schema": Route("GET", "/v1/areas/router/schema", None, R, 200),
    "tokens": Route("GET", "/v1/tokens", None, A, 200),
    "token-create": Route("POST", "/v1/tokens", {"name": "new", "role": "reader"}, A, 201),
    "token-revoke": Route("DELETE", "/v1/tokens/victim", None, A, 204),
    "scheduled": Route("GET", SCHEDULED, None, R, 200),
    "scheduled-create": Route("POST", SCHEDULED, ROUTER_LATER, W, 201),
    "scheduled-show": Route("GET", f"{SCHEDULED}/{SCHEDULE_ID}", None, R, 200),
    "scheduled-cancel": Route("DELETE", f"{SCHEDULED}/{SCHEDULE_ID}", None, W, 200),
    "cluster": Route("GET", "/v1/cluster", None, A, 200),
    "cluster-check": Route("GET", "/v1/cluster/check?wait=0", None, A, 200),
}


def sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("enc:") and SECRET not in value


def _names(body: Any) -> set[str]:
    return {item.get("name") or item.get("area") or item["key"] for item in body["items"]}


# What the allowed call answers: a subset of the JSON (lists item by item) or a predicate.
ANSWER: dict[str, Any] = {
    "get": {"version": 2, "value": {"max_retries": 2}},
    "get-reveal": {"value": {"keys": [{"api_key": SECRET}]}},
    "export-reveal": {"entries": {"provider": {"openai": {"keys": [{"api_key": SECRET}]}}}},
    "state-reveal": lambda b: SECRET in str(b["entries"]),
    "put": {"version": 3, "changed": True},
    "patch": {"version": 3},
    "delete": {"version": 3},
    "undelete": {"version": 3},
    "rollback": {"version": 3},
    "history": {"items": [{"version": 1}, {"version": 2}]},
    "diff": {"operations": [{"op": "replace", "path": "/max_retries", "value": 2}]},
    "list": {"items": [{"area": "provider"}, {"area": "router", "version": 2}]},
    "export": {
        "entries": {
            "router": {"default": {"max_retries": 2}},
            "provider": {"openai": {"keys": [{"api_key": "********"}]}},
        }
    },
    "export-secrets": {"entries": {"provider": {"openai": {"keys": [{"api_key": sealed}]}}}},
    "env-diff": lambda b: (
        {(c["area"], c["action"]) for c in b["changes"]}
        == {("router", "update"), ("feature_flag", "delete")}
    ),
    "plan": {"applied": False, "changes": [{"area": "router", "action": "update"}]},
    "apply": {"applied": True},
    "restore": {"applied": True},
    "promote": {"applied": True},
    "snapshots": {"items": [{"name": "base"}]},
    "snapshot-create": {"name": "next"},
    "snapshot-show": {"name": "base", "entries": {"router": {"default": {"max_retries": 1}}}},
    "audit": lambda b: [f"{i['area']}/{i['version']}" for i in b["items"]] == AUDIT_PROD,
    "audit-system": lambda b: {"root-admin", "victim"} <= {i["key"] for i in b["items"]},
    "areas": lambda b: {"router", "provider"} <= _names(b),
    "area-schema": lambda b: "max_retries" in b["properties"],
    "tokens": lambda b: "victim" in _names(b),
    "token-create": {"name": "new", "role": "reader"},
    "scheduled": {"items": [{"id": SCHEDULE_ID, "status": "pending"}]},
    "scheduled-create": {"status": "pending", "value": {"max_retries": 8}},
    "scheduled-show": {"id": SCHEDULE_ID, "value": {"max_retries": 9}},
    "scheduled-cancel": {"id": SCHEDULE_ID, "status": "cancelled"},
}
# What an admin reads afterwards, for calls that write (or must not).
AFTER: dict[str, tuple[str, Any]] = {
    "put": (E, {"version": 3, "value": {"max_retries": 9}}),
    "patch": (E, {"version": 3, "value": {"max_retries": 4, "retry_base_delay_ms": 500}}),
    "delete": ("/v1/envs/prod/entries?area=router", {"items": []}),
    "undelete": (FLAG, {"version": 3, "value": {"enabled": True}}),
    "rollback": (E, {"version": 3, "value": {"max_retries": 1}}),
    "plan": (E, {"version": 2}),
    "apply": (E, {"version": 3, "value": {"max_retries": 7}}),
    "restore": (E, {"version": 3, "value": {"max_retries": 1}}),
    "promote": (E, {"version": 3, "value": {"max_retries": 5}}),
    "snapshot-create": (SNAPSHOTS, {"items": [{"name": "next"}, {"name": "base"}]}),
    "snapshot-delete": (SNAPSHOTS, {"items": []}),
    "token-create": ("/v1/tokens", lambda b: "new" in _names(b)),
    "token-revoke": ("/v1/tokens", lambda b: "victim" not in _names(b)),
    "scheduled-create": (SCHEDULED, lambda b: len(b["items"]) == 2),
    "scheduled-cancel": (SCHEDULED, {"items": []}),
}


def matches(actual: Any, expected: Any) -> bool:
    """``expected`` is a predicate, or a subset of ``actual`` (lists match item by item)."""
    if callable(expected):
        return bool(expected(actual))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and matches(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


@dataclass
class World:
    """The seeded store, a client of it, and tokens."""

    client: TestClient
    store: ConfigStore
    token: TokenMaker
    admin: Headers

    def state(self) -> tuple[int, list[str | None]]:
        """The log head and prod's snapshot names: what a refused call must not change."""
        return self.store.index.head(), [s.name for s in self.store.snapshots("prod")]

    def send(self, method: str, path: str, body: Any, headers: Headers | None) -> Response:
        response: Response = self.client.request(method, path, json=body, headers=headers)
        return response

    def refused(
        self, status: int, method: str, path: str, body: Any, headers: Headers | None
    ) -> None:
        """The call is refused with a problem, and changes nothing."""
        before = self.state()
        response = self.send(method, path, body, headers)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        assert self.state() == before

    def router(self) -> tuple[int, int]:
        """prod's router: (version, max_retries)."""
        view = self.store.get(Address("prod", "router", "default"))
        return view.version, view.value["max_retries"]


@pytest.fixture
def world(
    client: TestClient,
    store: ConfigStore,
    make_token: TokenMaker,
    admin: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """prod: router v1 -> snapshot ``base`` -> router v2; a provider with a secret; a
    feature flag deleted after ``base``; a pending change of its router, ``SCHEDULE_ID``.
    staging: a router. A reader token ``victim``."""

    def put(env: str, area: str, key: str, value: dict[str, Any]) -> None:
        store.set(Address(env, area, key), value, provenance=SETUP)

    put("prod", "router", "default", {"max_retries": 1})
    keys = [{"name": "main", "api_key": SECRET, "is_primary": True}]
    put("prod", "provider", "openai", {"provider_type": "openai", "keys": keys})
    put("prod", "feature_flag", "gone", {"enabled": True})
    store.create_snapshot("prod", "base", actor="setup")
    put("prod", "router", "default", {"max_retries": 2})
    store.delete(Address("prod", "feature_flag", "gone"), provenance=SETUP)
    put("staging", "router", "default", {"max_retries": 5})
    with monkeypatch.context() as patched:
        patched.setattr(schedule_module, "new_schedule_id", lambda: SCHEDULE_ID)
        due = datetime.fromisoformat(LATER)
        store.schedule_change(
            Address("prod", "router", "default"),
            "set",
            {"max_retries": 9},
            due_at=due,
            provenance=SETUP,
        )
    make_token("reader", name="victim")
    return World(client, store, make_token, admin)


def _revoked(tokens: TokenService) -> str:
    issued = tokens.create("gone-admin", role="admin", provenance=SETUP)
    tokens.revoke("gone-admin", provenance=SETUP)
    return issued.token


def _expired(tokens: TokenService) -> str:
    soon = datetime.now(UTC) + timedelta(seconds=0.2)  # a token can only be made to expire later
    issued = tokens.create("old-admin", role="admin", provenance=SETUP, expires_at=soon)
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.01)
    return issued.token


BAD: dict[str, Callable[[TokenService], str | None]] = {
    "missing": lambda _: None,
    "garbage": lambda _: "Bearer not-a-token",
    "not-bearer": lambda _: "Basic cm9vdDpwdw==",
    "empty": lambda _: "Bearer ",
    "forged": lambda _: "Bearer cct_root-admin." + "x" * 43,
    "revoked": lambda t: "Bearer " + _revoked(t),
    "expired": lambda t: "Bearer " + _expired(t),
}


@pytest.mark.parametrize("kind", BAD)
def test_every_route_refuses_a_missing_or_bad_token(
    world: World, tokens: TokenService, kind: str
) -> None:
    value = BAD[kind](tokens)
    headers = None if value is None else {"Authorization": value}
    for route in ROUTES.values():
        world.refused(401, route.method, route.path, route.body, headers)


MATRIX = [
    pytest.param(name, role, id=f"{name}-{role.label}")
    for name in ROUTES
    for role in Role
    if name != "changes"  # an allowed stream never ends; its refusals are tested below
]


def may_call(name: str, role: Role) -> bool:
    """Whether ``role`` may call the route ``name`` (secrets: service and admin only)."""
    if name in REVEALING:
        return role in (Role.SERVICE, Role.ADMIN)
    return role >= ROUTES[name].role


@pytest.mark.parametrize(("name", "role"), MATRIX)
def test_role_matrix(world: World, name: str, role: Role) -> None:
    route = ROUTES[name]
    headers = world.token(role.label)
    if not may_call(name, role):
        world.refused(403, route.method, route.path, route.body, headers)
        return
    response = world.send(route.method, route.path, route.body, headers)
    assert response.status_code == route.status, response.text
    if name in ANSWER:
        assert matches(response.json(), ANSWER[name]), response.text
    if name in AFTER:
        path, expected = AFTER[name]
        assert matches(world.client.get(path, headers=world.admin).json(), expected)


# A writer scoped to prod:router: allowed calls, then prod's router (version, max_retries).
ALLOWED: list[tuple[str, str, Any, tuple[int, int]]] = [
    ("GET", E, None, (2, 2)),
    ("PUT", E, {"max_retries": 3}, (3, 3)),
    ("PATCH", E, {"max_retries": 4}, (3, 4)),
    ("POST", E + "/rollback", {"to_version": 1}, (3, 1)),
    ("GET", E + "/history", None, (2, 2)),
    ("GET", E + "/diff?from=1&to=2", None, (2, 2)),
    ("GET", "/v1/envs/prod/entries?area=router", None, (2, 2)),
    ("POST", "/v1/envs/prod/apply", ROUTER_DOC, (3, 7)),
    ("POST", "/v1/envs/prod/apply?dry_run=true", ROUTER_DOC, (2, 2)),
    ("GET", SCHEDULED, None, (2, 2)),
    ("DELETE", f"{SCHEDULED}/{SCHEDULE_ID}", None, (2, 2)),
]
REFUSED: list[tuple[str, str, Any]] = [  # ... and the calls it must not make
    ("GET", PROVIDER, None),
    ("PUT", PROVIDER, {"provider_type": "groq"}),
    ("DELETE", PROVIDER, None),
    ("POST", FLAG + "/undelete", None),
    ("GET", "/v1/envs/staging/entries/router/default", None),
    ("PUT", "/v1/envs/staging/entries/router/default", {"max_retries": 3}),
    ("GET", "/v1/envs/prod/entries?area=provider", None),
    ("GET", "/v1/envs/staging/entries", None),
    ("GET", "/v1/envs/staging", None),
    ("GET", "/v1/envs/prod/diff?from=base", None),
    ("GET", SNAPSHOTS + "/base", None),
    ("POST", "/v1/envs/prod/restore", {"to_snapshot": "base"}),
    ("POST", "/v1/envs/prod/apply?prune=true", ROUTER_DOC),
    ("POST", "/v1/envs/prod/apply", {"entries": {"provider": {"x": {}}}}),
    ("POST", "/v1/envs/prod/promote", {"source": "staging"}),
    ("POST", "/v1/envs/staging/promote", {"source": "prod"}),
    ("POST", SNAPSHOTS, {"name": "mine"}),
    ("DELETE", SNAPSHOTS + "/base", None),
    ("GET", "/v1/audit?env=staging", None),
    ("GET", "/v1/audit?env=prod&area=provider", None),
    ("GET", "/v1/audit?env=_system", None),
    ("GET", "/v1/changes?env=staging", None),
    ("GET", "/v1/changes?env=prod&area=provider", None),
    ("GET", "/v1/changes?env=_system", None),
    ("POST", SCHEDULED, {**SCHEDULE_BODY, "area": "feature_flag", "key": "f", "value": {}}),
    ("GET", "/v1/envs/staging/scheduled", None),
    ("POST", "/v1/envs/staging/scheduled", ROUTER_LATER),
]
SCOPED = [
    pytest.param(method, path, body, router, id=f"{method} {path}")
    for method, path, body, router in [*ALLOWED, *((*c, None) for c in REFUSED)]
]


@pytest.mark.parametrize(("method", "path", "body", "router"), SCOPED)
def test_writer_scoped_to_prod_router(
    world: World, method: str, path: str, body: Any, router: tuple[int, int] | None
) -> None:
    headers = world.token("writer", scopes=["prod:router"])
    if router is None:
        world.refused(403, method, path, body, headers)
        return
    response = world.send(method, path, body, headers)
    assert response.status_code == 200, response.text
    assert world.router() == router


@pytest.mark.parametrize("scopes", [["prod:router"], ["*:router"]])
def test_scoped_reader_sees_only_its_areas(world: World, scopes: list[str]) -> None:
    headers = world.token("reader", scopes=scopes)
    listed = world.client.get("/v1/envs/prod/entries", headers=headers).json()["items"]
    assert [(i["area"], i["value"]["max_retries"]) for i in listed] == [("router", 2)]
    exported = world.client.get("/v1/envs/prod", headers=headers)
    assert exported.json()["entries"] == {"router": {"default": {"max_retries": 2}}}
    at_base = world.client.get("/v1/envs/prod?snapshot=base", headers=headers)
    assert at_base.json()["entries"] == {"router": {"default": {"max_retries": 1}}}
    audit = world.client.get("/v1/audit?env=prod", headers=headers).json()["items"]
    assert [(r["area"], r["version"]) for r in audit] == [("router", 2), ("router", 1)]


def test_scoped_writer_deletes_and_undeletes_its_entry(world: World) -> None:
    headers = world.token("writer", scopes=["prod:router"])
    assert world.client.delete(E, headers=headers).json()["version"] == 3
    undone = world.client.post(E + "/undelete", headers=headers)
    assert (undone.status_code, undone.json()["version"]) == (200, 4)
    assert world.router() == (4, 2)


@pytest.mark.parametrize(("role", "scopes"), [("reader", []), ("writer", []), ("admin", ["prod"])])
def test_tokens_and_their_audit_are_for_unscoped_admins(
    world: World, role: str, scopes: list[str]
) -> None:
    headers = world.token(role, scopes=scopes)
    for path in ("/v1/audit?env=_system", "/v1/changes?env=_system", "/v1/tokens"):
        world.refused(403, "GET", path, None, headers)
    # a scoped admin must not mint itself an unscoped token, nor revoke others
    world.refused(403, "POST", "/v1/tokens", {"name": "up", "role": "admin"}, headers)
    world.refused(403, "DELETE", "/v1/tokens/victim", None, headers)
