"""``/v1/keys`` and ``/v1/rekey`` (admin): the secret keys of the store and re-sealing
current secrets with this server's current key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Role
from domain.address import Address, check_name
from domain.errors import InvalidValueError
from infrastructure.http.common import POSITION_HEADER, json_response, store_of
from infrastructure.http.schemas import READ_ERRORS, WRITE_ERRORS, problems
from infrastructure.http.security import Caller, provenance
from infrastructure.http.services import services_of

router = APIRouter(tags=["keys"])


class RekeyBody(BaseModel):
    """What to re-seal: one environment, or every one (``all_envs``)."""

    model_config = ConfigDict(extra="forbid")

    env: str | None = Field(default=None, max_length=100)
    all_envs: bool = False
    dry_run: bool = False
    new_key: bool = Field(
        default=False, description="Record this server's current key as the store's new key."
    )
    reason: str | None = Field(default=None, max_length=2000)


@router.get(
    "/v1/keys",
    summary="Secret key ids: recorded, current here, and what each seals (admin)",
    responses=problems(*READ_ERRORS),
)
def list_keys(
    request: Request,
    grant: Caller,
    env: Annotated[str | None, Query(description="Count one environment only.")] = None,
) -> Response:
    """Never a key, only key ids."""
    grant.require(Role.ADMIN)
    environment = check_name("env", env) if env is not None else None
    return json_response(store_of(request).key_usage(environment).to_json())


@router.post(
    "/v1/rekey",
    summary="Re-seal current secrets with this server's current key (admin)",
    responses=problems(*WRITE_ERRORS),
)
def rekey(request: Request, grant: Caller, body: RekeyBody) -> Response:
    """One atomic write per environment (source ``rekey``); the plaintext is unchanged.
    An entry with a secret no key of this server opens is left alone and listed in
    ``skipped``."""
    grant.require(Role.ADMIN)
    store = store_of(request)
    if body.all_envs == (body.env is not None):
        raise InvalidValueError.single("env", "give exactly one of env, all_envs")
    names = store.secret_environments() if body.all_envs else [check_name("env", body.env or "")]
    who = provenance(grant, request, body.reason, source="rekey")
    results = [
        store.rekey(name, provenance=who, dry_run=body.dry_run, new_key=body.new_key)
        for name in names
    ]
    for done in (r.result for r in results if r.result.applied):
        for change in done.changes:
            services_of(request).readcache.drop(Address(done.environment, change.area, change.key))
    position = max((r.result.position for r in results), default=0)
    payload = {
        "key_id": store.keyring().current_id,
        "environments": [r.to_json() for r in results],
    }
    return json_response(payload, headers={POSITION_HEADER: str(position)})
