"""Scheduled changes of ``/v1/envs/{env}/scheduled``: schedule a set, patch or delete of
one entry for later, list them, read one, cancel one. The leader applies each once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from domain.access import Grant, Role
from domain.address import check_name
from domain.errors import NotFoundError
from domain.parsing import MAX_INT64
from infrastructure.http.common import (
    entry_address,
    grant_may_reveal,
    json_response,
    store_of,
    utc_time,
)
from infrastructure.http.schemas import READ_ERRORS, WRITE_ERRORS, problems
from infrastructure.http.security import Caller, provenance
from infrastructure.presenters import scheduled_json
from infrastructure.store.schedule import schedule_address
from infrastructure.store.service import ConfigStore
from infrastructure.store.views import ScheduledView

router = APIRouter(prefix="/v1/envs/{env}", tags=["scheduled"])
ONE = "/scheduled/{schedule_id}"


class ScheduleBody(BaseModel):
    """A change of one entry to apply at ``due_at``."""

    model_config = ConfigDict(extra="forbid")

    area: str = Field(min_length=1, max_length=100)
    key: str = Field(min_length=1, max_length=100)
    operation: Literal["set", "patch", "delete"]
    value: dict[str, Any] | None = Field(
        default=None, description="set: the fields to store; patch: RFC 7396; delete: none."
    )
    due_at: Annotated[AwareDatetime, AfterValidator(utc_time)] = Field(
        description="When to apply it (ISO-8601 with an offset)."
    )
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INT64,
        description="Apply only if the entry is then at this version.",
    )
    reason: str | None = Field(default=None, max_length=2000)


class ScheduledOut(BaseModel):
    """A scheduled change; its value's secrets redacted."""

    id: str
    environment: str
    area: str
    key: str
    operation: str
    value: dict[str, Any] | None
    due_at: datetime
    expected_version: int | None
    status: str
    result: str | None
    applied_version: int | None
    applied_position: int | None
    requested_by: str
    reason: str | None
    version: int
    updated_at: datetime | None


class ScheduledListOut(BaseModel):
    """Scheduled changes of an environment, by due time."""

    environment: str
    items: list[ScheduledOut]


def scheduled_for(
    store: ConfigStore, grant: Grant, env: str, schedule_id: str, role: Role
) -> ScheduledView:
    """The scheduled change ``schedule_id`` of ``env``, for ``grant`` to act on with
    ``role`` on its target area (the API's and the console's one rule). Raises
    :class:`NotFoundError` when there is none in ``env`` and, with the same message,
    when ``grant`` may not read its area: as GitHub answers for a private repository,
    so a scoped token cannot tell the ids of other areas (or environments) from ids that
    do not exist; :class:`PermissionDeniedError` when it reads the area but lacks
    ``role`` there."""
    schedule_address(schedule_id)  # a malformed id: its own 404, which tells nothing
    try:
        view: ScheduledView | None = store.scheduled(schedule_id, environment=env)
    except NotFoundError:
        view = None
    if view is None or not grant.sees(env, view.change.area):
        raise NotFoundError(f"no scheduled change {schedule_id!r} in {env!r}")
    grant.require(role, env, view.change.area)
    return view


@router.post(
    "/scheduled",
    summary="Schedule a set, patch or delete of an entry",
    status_code=201,
    response_model=ScheduledOut,
    responses=problems(*WRITE_ERRORS),
)
def schedule(request: Request, env: str, grant: Caller, body: ScheduleBody) -> Response:
    """Validated now (422, nothing recorded, if the value is bad or ``due_at`` is past);
    applied once by the leader when due. Needs the writer role on the target."""
    address = entry_address(env, body.area, body.key)
    grant.require(Role.WRITER, address.environment, address.area)
    store = store_of(request)
    view = store.schedule_change(
        address,
        body.operation,
        body.value,
        due_at=body.due_at,
        provenance=provenance(grant, request, body.reason),
        expected_version=body.expected_version,
        may_reveal=grant_may_reveal(grant, address.environment, [address.area]),
    )
    return json_response(_shown(store, view), 201)


@router.get(
    "/scheduled",
    summary="Scheduled changes of an environment",
    response_model=ScheduledListOut,
    responses=problems(*READ_ERRORS),
)
def list_scheduled(
    request: Request,
    env: str,
    grant: Caller,
    include_done: Annotated[
        bool, Query(alias="all", description="Also applied, cancelled and failed ones.")
    ] = False,
) -> Response:
    """By due time; only the changes of areas the token may read."""
    check_name("environment", env)
    grant.require(Role.READER, env, None, any_area=True)
    store = store_of(request)
    views = store.scheduled_changes(env, include_done=include_done)
    items = [_shown(store, v) for v in views if grant.sees(env, v.change.area)]
    return json_response({"environment": env, "items": items})


@router.get(
    ONE,
    summary="One scheduled change",
    response_model=ScheduledOut,
    responses=problems(*READ_ERRORS),
)
def get_scheduled(request: Request, env: str, schedule_id: str, grant: Caller) -> Response:
    """Read from the log, so it is current even while projections catch up. 404 for a
    change of an area the token may not read, as for an unknown id."""
    grant.require(Role.READER, check_name("environment", env), None, any_area=True)
    store = store_of(request)
    view = scheduled_for(store, grant, env, schedule_id, Role.READER)
    return json_response(_shown(store, view))


@router.delete(
    ONE,
    summary="Cancel a pending scheduled change",
    response_model=ScheduledOut,
    responses=problems(*WRITE_ERRORS),
)
def cancel_scheduled(request: Request, env: str, schedule_id: str, grant: Caller) -> Response:
    """It will never apply; 409 when it is no longer pending. Needs the writer role on
    the target (404 when the token may not even read it, as for an unknown id). The
    reason comes from ``X-Change-Reason``."""
    grant.require(Role.WRITER, check_name("environment", env), None, any_area=True)
    store = store_of(request)
    scheduled_for(store, grant, env, schedule_id, Role.WRITER)
    cancelled = store.cancel_scheduled(
        schedule_id, provenance=provenance(grant, request), environment=env
    )
    return json_response(_shown(store, cancelled))


def _shown(store: ConfigStore, view: ScheduledView) -> dict[str, Any]:
    """The change as JSON, its value's secrets redacted by the target area's schema."""
    change = view.change
    return scheduled_json(view, store.secret_schema(change.environment, change.area))
