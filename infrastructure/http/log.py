"""``/v1/log/head``: the head of the log's tamper-evident chain, to record and check later
(``conduit-config verify --against POSITION:HASH``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from domain.access import Role
from infrastructure.http.common import json_response, store_of
from infrastructure.http.schemas import READ_ERRORS, problems
from infrastructure.http.security import Caller
from infrastructure.store.chain import head, head_json

router = APIRouter(prefix="/v1/log", tags=["log"])


class LogHeadOut(BaseModel):
    """The newest link of the chain; every member null before the first chained event."""

    position: int | None = Field(description="Log position of the newest chained event.")
    hash: str | None = Field(description="Its link: 64 hex digits.")
    keyed: bool = Field(description="Whether the link is keyed with the audit key (HMAC).")
    key_id: str | None = Field(description="The audit key's id of a keyed link.")
    head: str | None = Field(description="`POSITION:HASH`, as `verify --against` takes it.")


@router.get(
    "/head",
    summary="Head of the tamper-evident chain (admin)",
    response_model=LogHeadOut,
    responses=problems(*READ_ERRORS),
)
def log_head(request: Request, grant: Caller) -> Response:
    """Admin only. Record the ``head`` somewhere the database's administrators cannot
    write: a later ``verify --against`` proves the log still holds it unchanged."""
    grant.require(Role.ADMIN)
    return json_response(head_json(head(store_of(request))))
