"""``/v1/cluster``: the instances sharing the database, and their consistency check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from domain.access import Role
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.cluster.status import check_consistency, status_json
from infrastructure.http.common import json_response, store_of
from infrastructure.http.schemas import READ_ERRORS, problems
from infrastructure.http.security import Caller
from infrastructure.http.services import services_of

router = APIRouter(prefix="/v1/cluster", tags=["cluster"])


class InstanceOut(BaseModel):
    """One instance: what it is, its role, how far it has applied the log."""

    id: str
    host: str
    pid: int
    kind: str = Field(description="`serve` or `worker` (projections run).")
    role: str = Field(description="`leader` or `follower`.")
    position: int = Field(description="The last log position it has applied.")
    lag: int = Field(description="Events between its position and the log head.")
    last_seen: str
    started_at: str
    alive: bool = Field(description="Heard from within CONDUIT_CONFIG_INSTANCE_TIMEOUT_SECONDS.")


class ClusterOut(BaseModel):
    """Every registered instance, the live leader first."""

    leader: str | None
    instances: list[InstanceOut]


class CheckOut(BaseModel):
    """Each live server's state digest against the log's at its position."""

    consistent: bool
    common_position: int | None
    instances: list[dict[str, Any]]


def _registry(request: Request) -> InstanceRegistry:
    return services_of(request).registry


@router.get(
    "",
    summary="Instances, leader, lag",
    response_model=ClusterOut,
    responses=problems(*READ_ERRORS),
)
def cluster_status(request: Request, grant: Caller) -> Response:
    """Admin only (it names hosts and processes)."""
    grant.require(Role.ADMIN)
    timeout = services_of(request).options.instance_timeout_seconds
    return json_response(status_json(_registry(request).instances(timeout_seconds=timeout)))


@router.get(
    "/check",
    summary="Do all instances hold the log's state?",
    response_model=CheckOut,
    responses=problems(*READ_ERRORS),
)
def cluster_check(
    request: Request,
    grant: Caller,
    wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for the head.")] = 5,
) -> Response:
    """Admin only. ``consistent`` is false when a server's digest differs from the
    log's at the position it reports (it missed or repeated an event)."""
    grant.require(Role.ADMIN)
    report = check_consistency(
        store_of(request),
        _registry(request),
        instance_timeout=services_of(request).options.instance_timeout_seconds,
        wait_seconds=wait,
    )
    return json_response(report.to_json())
