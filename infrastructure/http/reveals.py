"""``/v1/reveals``: the record of secret reveals, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from domain.address import SYSTEM_ENVIRONMENT, check_name
from domain.parsing import MAX_INT64
from infrastructure.http.common import QueryInt, json_response, parse_time, store_of
from infrastructure.http.schemas import READ_ERRORS, problems
from infrastructure.http.security import Caller
from infrastructure.store.reveals import RevealQuery, reveal_log

router = APIRouter(tags=["reveals"])


class RevealOut(BaseModel):
    """One recorded reveal."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    revealed_at: datetime
    actor: str = Field(description="The token's name (or the CLI's actor).")
    role: str = Field(description="reader, service, writer, admin, or `cli`.")
    environment: str
    area: str
    key: str
    version: int
    origin: str = Field(
        alias="from", description="The caller's address, or `cli:OS_USER` for the CLI."
    )
    via: str = Field(description="`get`, `env`, `client` (environment state) or `stream`.")


class RevealsOut(BaseModel):
    """A page of recorded reveals, newest first."""

    items: list[RevealOut]
    next_before: int | None


@router.get(
    "/v1/reveals",
    summary="Recorded secret reveals, newest first (admin)",
    response_model=RevealsOut,
    responses=problems(*READ_ERRORS),
)
def reveals(
    request: Request,
    grant: Caller,
    env: Annotated[str | None, Query(description="Only this environment.")] = None,
    actor: Annotated[str | None, Query(description="Only this token name.")] = None,
    since: Annotated[str | None, Query(description="ISO-8601 time, inclusive.")] = None,
    before: Annotated[
        QueryInt | None, Query(ge=1, le=MAX_INT64, description="Page: records before this id.")
    ] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=10_000)] = 50,
) -> Response:
    """Who saw which entry's secrets, when, from where and through what. An admin
    scoped to an environment reads that environment's record only (``env`` required)."""
    if env is None or env == SYSTEM_ENVIRONMENT:
        grant.require(Role.ADMIN)
    else:
        grant.require(Role.ADMIN, check_name("environment", env))
    query = RevealQuery(
        environment=env,
        actor=actor,
        since=parse_time(since, name="since") if since is not None else None,
        before=before,
        limit=limit,
    )
    records = reveal_log(store_of(request)).query(query)
    cursor = records[-1].id if len(records) == limit else None
    return json_response({"items": [r.to_json() for r in records], "next_before": cursor})
