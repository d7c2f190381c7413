"""``/v1/envs/{env}``: the whole environment at a point, diff between points, plan and
apply of documents, restore and promote (all atomic)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain import parsing
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
    parse_time,
    store_of,
)
from infrastructure.http.problems import BadRequestError
from infrastructure.http.revealing import reveal_states, revealed_export
from infrastructure.http.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    BulkOut,
    ChangesOut,
    DocumentOut,
    StateOut,
    problems,
)
from infrastructure.http.security import Caller, provenance
from infrastructure.presenters import bulk_json, problems_json
from infrastructure.store.bulk import BulkResult
from infrastructure.store.environment import PointRef
from infrastructure.store.reveals import VIA_CLIENT

router = APIRouter(prefix="/v1/envs/{env}", tags=["environments"])

Document = Annotated[
    dict[str, Any], Body(description="An export document: {environment?, entries}.")
]
Prune = Annotated[bool, Query(description="Also delete live entries not in the document.")]
Reveal = Annotated[
    bool, Query(description="Secrets in plaintext (service and admin; each reveal recorded).")
]


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


def env_for(env: str, grant: Grant, role: Role) -> str:
    """The checked environment name; ``role`` must reach every area of it."""
    check_name("environment", env)
    grant.require(role, env)
    return env


def _secrets_guard(grant: Grant, env: str, *, include_secrets: bool, reveal: bool) -> None:
    """Sealed secrets are for admins, plaintext ones for service and admin tokens (403);
    not both at once (400)."""
    if include_secrets and reveal:
        raise BadRequestError("give reveal or include_secrets, not both")
    if include_secrets:
        grant.require(Role.ADMIN, env)
    elif reveal:
        grant.require_reveal(env)
    else:
        grant.require(Role.READER, env, any_area=True)


def _point(as_of: str | None, position: int | None, snapshot: str | None) -> PointRef | None:
    given = [p for p in (as_of, position, snapshot) if p is not None]
    if len(given) > 1:
        raise BadRequestError("give at most one of as_of, position and snapshot")
    if as_of is not None:
        return parse_time(as_of, name="as_of")
    return position if position is not None else snapshot


def _bulk(request: Request, result: BulkResult) -> Response:
    if result.applied:  # read-your-writes on this server, before the follower
        for change in result.changes:
            request.app.state.readcache.drop(Address(result.environment, change.area, change.key))
    return json_response(bulk_json(result), headers={POSITION_HEADER: str(result.position)})


@router.get(
    "",
    summary="The whole environment now or at a point",
    response_model=DocumentOut,
    responses=problems(*READ_ERRORS),
)
def export_environment(
    request: Request,
    env: str,
    grant: Caller,
    as_of: Annotated[str | None, Query(description="ISO-8601 time.")] = None,
    position: Annotated[
        QueryInt | None, Query(ge=0, le=MAX_INT64, description="Log position.")
    ] = None,
    snapshot: Annotated[str | None, Query(description="Snapshot name.")] = None,
    include_secrets: Annotated[
        bool, Query(description="Keep secrets, still encrypted (admin only).")
    ] = False,
    reveal: Reveal = False,
) -> Response:
    """An export document: ``{environment, position, recorded_at, entries}``, and
    ``problems`` naming the entries left out because their stored value cannot be served."""
    check_name("environment", env)
    _secrets_guard(grant, env, include_secrets=include_secrets, reveal=reveal)
    store = store_of(request)
    point = _point(as_of, position, snapshot)
    exported = (
        revealed_export(request, grant, env, point)
        if reveal
        else store.export(env, point, include_secrets=include_secrets)
    )
    visible = [p for p in exported.problems if grant.sees(env, p.area)]
    document = replace(exported, problems=visible).to_json()
    document["entries"] = {
        area: values for area, values in document["entries"].items() if grant.sees(env, area)
    }
    return json_response(document, headers={POSITION_HEADER: str(document["position"])})


@router.get(
    "/state",
    summary="Every entry with its version, for clients that follow the change stream",
    response_model=StateOut,
    responses=problems(*READ_ERRORS),
)
def environment_state(
    request: Request,
    env: str,
    grant: Caller,
    include_secrets: Annotated[
        bool, Query(description="Keep secrets, still encrypted (admin only).")
    ] = False,
    reveal: Reveal = False,
) -> Response:
    """The environment now (deleted entries included) at ``position``; a client loads
    it, then follows ``/v1/changes?env=ENV&after=position`` (with ``reveal`` too)."""
    check_name("environment", env)
    _secrets_guard(grant, env, include_secrets=include_secrets, reveal=reveal)
    sealed = include_secrets or reveal
    view = store_of(request).environment_state(env, include_secrets=sealed)
    shown = [e for e in view.entries if grant.sees(env, e.area)]
    if reveal:
        shown = reveal_states(request, grant, VIA_CLIENT, env, shown)
    entries = [e.to_public() for e in shown]
    body: dict[str, Any] = {"environment": env, "position": view.position, "entries": entries}
    if visible := [p for p in view.problems if grant.sees(env, p.area)]:
        body["problems"] = problems_json(visible)  # left out: a client does not serve them
    return json_response(body, headers={POSITION_HEADER: str(view.position)})


@router.get(
    "/diff",
    summary="What changed in the environment between two points",
    response_model=ChangesOut,
    responses=problems(*READ_ERRORS),
)
def diff_environment(
    request: Request,
    env: str,
    grant: Caller,
    from_: Annotated[str, Query(alias="from", description="Time, position or snapshot.")],
    to: Annotated[str, Query(description="Time, position, snapshot or `now`.")] = "now",
) -> Response:
    """Per entry: create, update or delete, with RFC 6902 changes (secrets redacted)."""
    env_for(env, grant, Role.READER)
    store = store_of(request)
    diff = store.diff_environment(env, _parse_point(from_, "from"), _parse_point(to, "to"))
    body: dict[str, Any] = {"changes": [c.to_json() for c in diff.changes]}
    if diff.problems:
        body["problems"] = problems_json(diff.problems)  # not compared
    return json_response(body)


def _parse_point(text: str, name: str) -> PointRef | None:
    return parsing.point(text, name=name)


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
