"""``POST /v1/repair`` (admin): what ``conduit-config repair`` does, over HTTP."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from domain.address import check_name
from domain.errors import InvalidValueError
from infrastructure.http.common import json_response, store_of
from infrastructure.http.schemas import WRITE_ERRORS, problems
from infrastructure.http.security import Caller, provenance
from infrastructure.store.chain import store_audit_key
from infrastructure.store.repair import (
    RepairReport,
    list_repairs,
    plan_repair,
    record_repair,
    run_repair,
)

router = APIRouter()


class RepairBody(BaseModel):
    """A repair of one environment or of all; ``dry_run`` must be said."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool
    environment: str | None = Field(default=None, max_length=100)
    all_envs: bool = False
    reason: str | None = Field(default=None, max_length=2000)


@router.post(
    "/v1/repair",
    tags=["repair"],
    summary="Repair the store (admin)",
    responses=problems(*WRITE_ERRORS),
)
def repair(request: Request, grant: Caller, body: RepairBody) -> Response:
    """Rebuild the event index, projections and checkpoints from the log and re-establish
    each damaged entry by appending one event (source ``repair``); with ``dry_run`` only
    the plan is answered. Give ``environment`` or ``all_envs``."""
    grant.require(Role.ADMIN)
    if (body.environment is None) == (not body.all_envs):
        raise InvalidValueError.single("environment", "give environment or all_envs: true")
    environment = check_name("environment", body.environment) if body.environment else None
    store = store_of(request)
    plan = plan_repair(store, environment)
    if body.dry_run:
        return json_response(RepairReport(plan, dry_run=True).to_json())
    who = provenance(grant, request, body.reason, source="api")
    report = run_repair(store, plan, who, audit_key=store_audit_key(store))
    record_repair(store, report, who)
    return json_response(report.to_json())


@router.get(
    "/v1/repairs",
    tags=["repair"],
    summary="Past repairs (admin)",
    responses=problems(*WRITE_ERRORS),
)
def repairs(request: Request, grant: Caller) -> Response:
    """The latest repairs, newest first."""
    grant.require(Role.ADMIN)
    found = list_repairs(store_of(request))
    return json_response(
        {"items": [{**vars(r), "repaired_at": r.repaired_at.isoformat()} for r in found]}
    )
