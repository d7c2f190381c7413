"""Areas and their schemas, API tokens (admin), and the probes: ``/healthz``,
``/readyz`` and ``/metrics``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from domain.errors import ConfigStoreError
from infrastructure.http.common import POSITION_HEADER, json_response, store_of
from infrastructure.http.problems import problem
from infrastructure.http.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    AreaListOut,
    HealthOut,
    IssuedTokenOut,
    ReadyOut,
    TokenListOut,
    problems,
)
from infrastructure.http.security import Caller, provenance, tokens_of
from infrastructure.http.services import services_of
from infrastructure.presenters import area_json, json_ready

router = APIRouter()


class TokenBody(BaseModel):
    """A token to create; its value is in the response only."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Literal["reader", "service", "writer", "admin"]
    scopes: list[str] = Field(default_factory=list, max_length=100)
    expires_at: datetime | None = None
    description: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=2000)


@router.get(
    "/v1/areas",
    tags=["areas"],
    summary="Registered areas",
    response_model=AreaListOut,
    responses=problems(*READ_ERRORS),
)
def areas(request: Request, grant: Caller) -> Response:
    """Name, singleton, schema version, summary and fields of each area."""
    del grant  # any valid token may list areas
    listing = [area_json(model) for model in store_of(request).registry]
    return json_response({"items": listing})


@router.get(
    "/v1/areas/{area}/schema",
    tags=["areas"],
    summary="JSON Schema of an area",
    responses=problems(*READ_ERRORS),
)
def area_schema(request: Request, area: str, grant: Caller) -> Response:
    """The schema every value of the area is validated against."""
    del grant  # any valid token may read schemas
    return json_response(store_of(request).registry.get(area).model_json_schema())


@router.get(
    "/v1/tokens",
    tags=["tokens"],
    summary="Live API tokens (admin)",
    response_model=TokenListOut,
    responses=problems(*READ_ERRORS),
)
def list_tokens(request: Request, grant: Caller) -> Response:
    """Never their values or hashes."""
    grant.require(Role.ADMIN)
    infos = tokens_of(request).list()
    return json_response({"items": [json_ready(vars(i)) for i in infos]})


@router.post(
    "/v1/tokens",
    tags=["tokens"],
    summary="Create a token (admin)",
    status_code=201,
    response_model=IssuedTokenOut,
    responses=problems(*WRITE_ERRORS),
)
def create_token(request: Request, grant: Caller, body: TokenBody) -> Response:
    """The response holds the token; it is not shown again."""
    grant.require(Role.ADMIN)
    issued = tokens_of(request).create(
        body.name,
        role=body.role,
        scopes=body.scopes,
        expires_at=body.expires_at,
        description=body.description,
        provenance=provenance(grant, request, body.reason),
    )
    payload = {"name": issued.name, "role": issued.role, "token": issued.token}
    return json_response(payload, 201, headers={POSITION_HEADER: str(issued.write.position)})


@router.delete(
    "/v1/tokens/{name}",
    tags=["tokens"],
    summary="Revoke a token (admin)",
    status_code=204,
    responses=problems(*WRITE_ERRORS),
)
def revoke_token(request: Request, name: str, grant: Caller) -> Response:
    """At once on this instance; within the token cache time on others."""
    grant.require(Role.ADMIN)
    result = tokens_of(request).revoke(name, provenance=provenance(grant, request))
    return Response(status_code=204, headers={POSITION_HEADER: str(result.position)})


@router.get(
    "/healthz",
    tags=["probes"],
    summary="The process answers",
    response_model=HealthOut,
    responses=problems(*()),
)
async def healthz() -> Response:
    """Always 200 while the server runs; says nothing of the database. Runs on the event
    loop without I/O, so neither the database nor a full request thread pool delays it."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    tags=["probes"],
    summary="Database reachable, projections current",
    response_model=ReadyOut,
    responses=problems(*(503,)),
)
async def readyz(request: Request) -> Response:
    """503 with the reason when the database is unreachable (at once when known, else
    when the check takes over 0.8 s), or this instance's read cache (or, on the leader,
    a projection) lags more than ``CONDUIT_CONFIG_READY_MAX_LAG`` events."""
    return await services_of(request).readiness.answer()


def readiness(app: FastAPI) -> Response:
    """The readiness answer; reads the database."""
    services = services_of(app)
    limit = services.options.ready_max_lag
    store = services.store
    try:
        statuses = store.projection_status()
    except ConfigStoreError as exc:
        return problem(503, f"database unreachable: {exc}")
    lags = {s.name: s.lag for s in statuses}
    head = max((s.head for s in statuses), default=0)
    if services.readcache.started:  # an app outside its lifespan follows nothing
        lags["instance"] = max(0, head - services.readcache.applied()[0])
    node = services.node
    role = node.role if node is not None else None
    # Projections are the leader's work: a follower stays ready while they lag (its
    # reads catch them up), or a stuck leader would take every instance out.
    judged = lags if role != "follower" else {"instance": lags.get("instance", 0)}
    behind = {name: lag for name, lag in judged.items() if lag > limit}
    if behind:
        detail = ", ".join(f"{n} is {lag} events behind" for n, lag in behind.items())
        return problem(503, f"lagging: {detail} (limit {limit})", lag=lags)
    return json_response({"status": "ready", "head": head, "lag": lags, "role": role})


@router.get(
    "/metrics", tags=["probes"], summary="Prometheus metrics", response_class=PlainTextResponse
)
def metrics(request: Request) -> Response:
    """Requests, latencies, writes, conflicts and projection lag."""
    body, content_type = services_of(request).metrics.exposition()
    return Response(body, media_type=content_type)
