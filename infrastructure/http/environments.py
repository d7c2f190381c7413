"""``/v1/envs/{env}``: reading a whole environment: its entries at a point, its state
for clients that follow the change stream, the diff between two points.

Writing a whole environment (plan, apply, restore, promote) is
:mod:`infrastructure.http.environment_writes`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from domain import parsing
from domain.access import Grant, Role
from domain.address import check_name
from domain.parsing import MAX_INT64
from infrastructure.http.common import (
    POSITION_HEADER,
    QueryInt,
    json_response,
    parse_time,
    store_of,
)
from infrastructure.http.problems import BadRequestError
from infrastructure.http.revealing import reveal_states, revealed_export
from infrastructure.http.schemas import (
    READ_ERRORS,
    ChangesOut,
    DocumentOut,
    StateOut,
    problems,
)
from infrastructure.http.security import Caller
from infrastructure.presenters import problems_json
from infrastructure.store.environment import PointRef
from infrastructure.store.reveals import VIA_CLIENT

router = APIRouter(prefix="/v1/envs/{env}", tags=["environments"])

Reveal = Annotated[
    bool, Query(description="Secrets in plaintext (service and admin; each reveal recorded).")
]


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
