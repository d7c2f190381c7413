"""Secret reveals over HTTP: recording each one before it is served, and ``/v1/reveals``
(admins) to read the record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Grant, Role
from domain.address import SYSTEM_ENVIRONMENT, check_name
from domain.parsing import MAX_INT64
from infrastructure.http.common import QueryInt, json_response, parse_time, store_of
from infrastructure.http.schemas import READ_ERRORS, problems
from infrastructure.http.security import Caller
from infrastructure.store.reveals import Revealed, Revealer, RevealQuery, reveal_log

router = APIRouter(tags=["reveals"])


def origin_of(request: Request) -> str:
    """Where the request came from: the peer's address (behind a proxy, what the server
    was told to trust, e.g. uvicorn's ``--forwarded-allow-ips``)."""
    client = request.client
    return client.host if client is not None and client.host else "unknown"


def record_reveals(request: Request, grant: Grant, via: str, entries: Iterable[Revealed]) -> None:
    """Record that ``grant`` is shown ``entries`` in plaintext through ``via``, in one
    statement. Raises :class:`StorageError` (503) when the record cannot be written:
    the caller must then reveal nothing."""
    who = Revealer(actor=grant.name, role=grant.role.label, origin=origin_of(request), via=via)
    reveal_log(store_of(request)).record(who, entries)


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
