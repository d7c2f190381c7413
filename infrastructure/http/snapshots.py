"""``/v1/envs/{env}/snapshots``: named snapshots of an environment's state."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from infrastructure.http.common import json_response, store_of
from infrastructure.http.environments import env_for
from infrastructure.http.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    SnapshotEntriesOut,
    SnapshotListOut,
    problems,
)
from infrastructure.http.security import Caller
from infrastructure.presenters import snapshot_json
from infrastructure.projection.checkpoints import CheckpointInfo

router = APIRouter(prefix="/v1/envs/{env}", tags=["environments"])


class SnapshotBody(BaseModel):
    """Name the environment's state now."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


@router.get(
    "/snapshots",
    summary="Named snapshots, newest first",
    response_model=SnapshotListOut,
    responses=problems(*READ_ERRORS),
)
def list_snapshots(
    request: Request,
    env: str,
    grant: Caller,
    automatic: Annotated[bool, Query(description="Include automatic checkpoints.")] = False,
) -> Response:
    """Name, position, time, entry count, who and why."""
    env_for(env, grant, Role.READER)
    infos = store_of(request).snapshots(env, automatic=automatic)
    return json_response({"items": [snapshot_json(i) for i in infos]})


@router.post(
    "/snapshots",
    summary="Name the environment's current state",
    status_code=201,
    response_model=CheckpointInfo,
    responses=problems(*WRITE_ERRORS),
)
def create_snapshot(request: Request, env: str, grant: Caller, body: SnapshotBody) -> Response:
    """409 when the name is taken in this environment."""
    env_for(env, grant, Role.WRITER)
    store = store_of(request)
    info = store.create_snapshot(env, body.name, actor=grant.name, reason=body.reason)
    return json_response(snapshot_json(info), 201)


@router.get(
    "/snapshots/{name}",
    summary="One named snapshot and its entries",
    response_model=SnapshotEntriesOut,
    responses=problems(*READ_ERRORS),
)
def show_snapshot(request: Request, env: str, name: str, grant: Caller) -> Response:
    """Its entries as an export document (secrets redacted)."""
    env_for(env, grant, Role.READER)
    store = store_of(request)
    info = store.snapshot(env, name)
    document = store.export(env, info.position)
    shown = replace(info, problems=tuple(document.problems))  # left out of its entries
    return json_response({**snapshot_json(shown), "entries": document.entries})


@router.delete(
    "/snapshots/{name}",
    summary="Forget a named snapshot (the log is untouched)",
    status_code=204,
    responses=problems(*WRITE_ERRORS),
)
def delete_snapshot(request: Request, env: str, name: str, grant: Caller) -> Response:
    """404 when there is no such snapshot."""
    env_for(env, grant, Role.WRITER)
    store_of(request).delete_snapshot(env, name)
    return Response(status_code=204)
