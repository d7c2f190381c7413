"""``/v1/envs/{env}``: the writes of a whole environment, each atomic: plan and apply of
a document, restore to an earlier point, promote from another environment.

Reading an environment (export, state, diff) is :mod:`infrastructure.http.environments`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Grant, Role
from domain.address import Address, check_name
from domain.document import parse_document
from domain.parsing import MAX_INT64
from infrastructure.http.common import (
    POSITION_HEADER,
    QueryInt,
    UtcTime,
    grant_may_reveal,
    json_response,
    store_of,
)
from infrastructure.http.environments import env_for
from infrastructure.http.problems import BadRequestError
from infrastructure.http.schemas import WRITE_ERRORS, BulkOut, problems
from infrastructure.http.security import Caller, provenance
from infrastructure.http.services import services_of
from infrastructure.presenters import bulk_json
from infrastructure.store.bulk import BulkResult

router = APIRouter(prefix="/v1/envs/{env}", tags=["environments"])

Document = Annotated[
    dict[str, Any], Body(description="An export document: {environment?, entries}.")
]
Prune = Annotated[bool, Query(description="Also delete live entries not in the document.")]


class RestoreBody(BaseModel):
    """Restore to exactly one of a time, a log position or a snapshot."""

    model_config = ConfigDict(extra="forbid")

    to_time: UtcTime | None = None
    to_position: int | None = Field(default=None, ge=0, le=MAX_INT64)
    to_snapshot: str | None = Field(default=None, min_length=1, max_length=100)
    dry_run: bool = False
    reason: str | None = Field(default=None, max_length=2000)


class PromoteBody(BaseModel):
    """Copy another environment's current entries into this one."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=100, description="The environment to copy.")
    prune: bool = False
    dry_run: bool = False
    reason: str | None = Field(default=None, max_length=2000)


def _bulk(request: Request, result: BulkResult) -> Response:
    if result.applied:  # read-your-writes on this server, before the follower
        for change in result.changes:
            services_of(request).readcache.drop(
                Address(result.environment, change.area, change.key)
            )
    return json_response(bulk_json(result), headers={POSITION_HEADER: str(result.position)})


def _document_guard(
    grant: Grant, role: Role, env: str, document: dict[str, Any], prune: bool
) -> None:
    """``role`` on every area the document names; with ``prune``, on all of ``env``."""
    if prune:
        grant.require(role, env)
        return
    entries = document.get("entries")
    grant.require(role, env, any_area=True)
    for area in entries if isinstance(entries, dict) else ():
        grant.require(role, env, str(area))


@router.post(
    "/plan",
    summary="What applying a document would change (writes nothing)",
    response_model=BulkOut,
    responses=problems(*WRITE_ERRORS),
)
def plan_document(
    request: Request, env: str, grant: Caller, document: Document, prune: Prune = False
) -> Response:
    """The same changes ``apply`` would make, at the current log position."""
    return _run_document(request, env, grant, document, Role.READER, prune=prune, dry_run=True)


@router.post(
    "/apply",
    summary="Make the environment hold a document's entries, atomically",
    response_model=BulkOut,
    responses=problems(*WRITE_ERRORS),
)
def apply_document(
    request: Request,
    env: str,
    grant: Caller,
    document: Document,
    prune: Prune = False,
    expected_position: Annotated[
        QueryInt | None,
        Query(ge=0, le=MAX_INT64, description="409 if the environment changed after it."),
    ] = None,
    dry_run: bool = False,
) -> Response:
    """All or nothing: one invalid entry is 422 listing every bad field."""
    return _run_document(
        request,
        env,
        grant,
        document,
        Role.WRITER,
        prune=prune,
        dry_run=dry_run,
        expected=expected_position,
    )


def _run_document(
    request: Request,
    env: str,
    grant: Grant,
    document: dict[str, Any],
    role: Role,
    *,
    prune: bool,
    dry_run: bool,
    expected: int | None = None,
) -> Response:
    """Plan or apply a document; ``role`` is needed on its areas (all with ``prune``)."""
    check_name("environment", env)
    _document_guard(grant, role, env, document, prune)
    parsed = parse_document(document)
    result = store_of(request).apply_document(
        parsed,
        environment=env,
        provenance=provenance(grant, request, source="import"),
        prune=prune,
        expected_position=expected,
        dry_run=dry_run,
        may_reveal=grant_may_reveal(grant, env, parsed.entries),
    )
    return _bulk(request, result)


@router.post(
    "/restore",
    summary="Make the environment equal an earlier point, atomically",
    response_model=BulkOut,
    responses=problems(*WRITE_ERRORS),
)
def restore_environment(request: Request, env: str, grant: Caller, body: RestoreBody) -> Response:
    """Appends compensating events; history is never rewritten."""
    env_for(env, grant, Role.WRITER)
    points = [p for p in (body.to_time, body.to_position, body.to_snapshot) if p is not None]
    if len(points) != 1:
        raise BadRequestError("give exactly one of to_time, to_position and to_snapshot")
    store = store_of(request)
    result = store.restore(
        env,
        points[0],
        provenance=provenance(grant, request, body.reason, source="restore"),
        dry_run=body.dry_run,
    )
    return _bulk(request, result)


@router.post(
    "/promote",
    summary="Copy another environment's entries into this one",
    response_model=BulkOut,
    responses=problems(*WRITE_ERRORS),
)
def promote_environment(request: Request, env: str, grant: Caller, body: PromoteBody) -> Response:
    """The source is read as of now; the target changes atomically."""
    env_for(env, grant, Role.WRITER)
    env_for(body.source, grant, Role.READER)
    store = store_of(request)
    result = store.promote(
        body.source,
        env,
        provenance=provenance(grant, request, body.reason, source="promote"),
        prune=body.prune,
        dry_run=body.dry_run,
    )
    return _bulk(request, result)
