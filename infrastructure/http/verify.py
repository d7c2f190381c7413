"""``POST /v1/verify`` (admin): what ``conduit-config verify`` does, over HTTP."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from domain.address import check_name
from domain.errors import InvalidValueError
from infrastructure.http.common import json_response, store_of
from infrastructure.http.schemas import WRITE_ERRORS, problems
from infrastructure.http.security import Caller
from infrastructure.store.chain import ChainHead, store_audit_key
from infrastructure.store.verify_runs import note_verify_run

router = APIRouter()


class VerifyBody(BaseModel):
    """Which environment to check (or ``all_envs``), and a head recorded earlier."""

    model_config = ConfigDict(extra="forbid")

    environment: str | None = Field(default=None, max_length=100)
    all_envs: bool = False
    against: str | None = Field(
        default=None, max_length=200, description="`POSITION:HASH`, as `GET /v1/log/head` gives."
    )


@router.post(
    "/v1/verify",
    tags=["repair"],
    summary="Verify the log (admin)",
    responses=problems(*WRITE_ERRORS),
)
def verify(request: Request, grant: Caller, body: VerifyBody) -> Response:
    """Check every entry's log (versions 1..N, decoding, value hashes), the event index
    and the current read model against the events, snapshots and the tamper-evident
    chain; quarantine each entry whose log is broken. Answers 200 with ``problems``
    (empty when the log is sound), ``chain`` and ``retired_keys``. Give ``environment``
    or ``all_envs``."""
    grant.require(Role.ADMIN)
    if (body.environment is None) == (not body.all_envs):
        raise InvalidValueError.single("environment", "give environment or all_envs: true")
    environment = check_name("environment", body.environment) if body.environment else None
    head = ChainHead.parse(body.against, name="against") if body.against is not None else None
    store = store_of(request)
    report = store.verify(environment, audit_key=store_audit_key(store), against=head)
    note_verify_run(store, report, actor=grant.name, source="http", environment=environment)
    return json_response(report.to_json())
