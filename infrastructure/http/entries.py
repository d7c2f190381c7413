"""Reads of ``/v1/envs/{env}/entries``: the current entries, one entry now or at a
version or time (with its ``ETag``), its history and diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from domain import parsing
from domain.access import Grant, Role
from domain.address import Address, check_name
from domain.parsing import MAX_INT64
from infrastructure.http.common import (
    ENTRY,
    POSITION_HEADER,
    MinPosition,
    QueryInt,
    entry_address,
    json_response,
    parse_time,
    store_of,
)
from infrastructure.http.problems import (
    BadRequestError,
)
from infrastructure.http.revealing import reveal_value
from infrastructure.http.schemas import (
    READ_ERRORS,
    DiffOut,
    EntryListOut,
    EntryOut,
    HistoryOut,
    problems,
)
from infrastructure.http.security import Caller
from infrastructure.http.services import services_of
from infrastructure.presenters import entry_json, history_json, problems_json
from infrastructure.store.reveals import VIA_GET

router = APIRouter(prefix="/v1/envs/{env}", tags=["entries"])


def _guard(grant: Grant, role: Role, address: Address) -> None:
    grant.require(role, address.environment, address.area)


@router.get(
    "/entries",
    summary="Current entries of an environment",
    response_model=EntryListOut,
    responses=problems(*READ_ERRORS),
)
def list_entries(
    request: Request,
    env: str,
    grant: Caller,
    min_position: MinPosition = None,
    area: Annotated[str | None, Query(description="Only this area.")] = None,
) -> Response:
    """Live entries, by area and key; secrets redacted. ``problems`` names the entries
    left out because their stored value is not valid under the current rules."""
    store = store_of(request)
    check_name("environment", env)
    grant.require(Role.READER, env, area, any_area=area is None)
    listing = store.listing(env, area, min_position=min_position)
    views = [v for v in listing.items if grant.sees(env, v.address.area)]
    items = [entry_json(v, store.redacted(v.value, env, v.address.area)) for v in views]
    position = max((v.position or 0 for v in views), default=0)  # of what this token sees
    body: dict[str, Any] = {"environment": env, "items": items}
    if left_out := [p for p in listing.problems if grant.sees(env, p.area)]:
        body["problems"] = problems_json(left_out)
    return json_response(body, headers=_at(position))


def _at(position: int) -> dict[str, str]:
    return {POSITION_HEADER: str(position)}


@router.get(
    ENTRY,
    summary="One entry: now, at a version, or as of a time",
    response_model=EntryOut,
    responses=problems(*READ_ERRORS),
)
def get_entry(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    version: Annotated[QueryInt | None, Query(ge=1, le=MAX_INT64)] = None,
    as_of: Annotated[str | None, Query(description="ISO-8601 time (no offset: UTC).")] = None,
    reveal: Annotated[
        bool, Query(description="Secrets in plaintext (service and admin; recorded).")
    ] = False,
    stored: Annotated[bool, Query(description="Only the stored fields.")] = False,
) -> Response:
    """The value with defaults filled in (``stored``: only what was set)."""
    address = entry_address(env, area, key)
    if reveal:
        grant.require_reveal(address.environment, address.area)
    else:
        _guard(grant, Role.READER, address)
    if version is not None and as_of is not None:
        raise BadRequestError("give version or as_of, not both")
    store = store_of(request)
    if version is None and as_of is None:
        view = services_of(request).readcache.get(address)
    else:
        moment = parse_time(as_of, name="as_of") if as_of is not None else None
        view = store.get(address, version=version, as_of=moment)
    value = view.stored if stored else view.value
    shown = (
        reveal_value(request, grant, VIA_GET, address, view.version, value)
        if reveal
        else store.redacted(value, env, address.area)
    )
    response = json_response(entry_json(view, shown), headers=_at(view.position or 0))
    response.headers["ETag"] = f'"{view.version}"'
    return response


@router.get(
    ENTRY + "/history",
    summary="Every version of an entry, oldest first",
    response_model=HistoryOut,
    responses=problems(*READ_ERRORS),
)
def entry_history(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    limit: Annotated[
        QueryInt | None, Query(ge=1, le=100_000, description="Only the last N.")
    ] = None,
) -> Response:
    """Who, when, why and what changed (secrets redacted)."""
    address = entry_address(env, area, key)
    _guard(grant, Role.READER, address)
    store = store_of(request)
    items = store.history(address, limit=limit)
    body = [history_json(i, store.redacted_ops(i.changes, env, address.area)) for i in items]
    return json_response({"items": body})


@router.get(
    ENTRY + "/diff",
    summary="RFC 6902 operations between two versions or times",
    response_model=DiffOut,
    responses=problems(*READ_ERRORS),
)
def entry_diff(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    from_: Annotated[str, Query(alias="from", description="Version or ISO-8601 time.")],
    to: Annotated[str, Query(description="Version or ISO-8601 time.")],
    effective: Annotated[bool, Query(description="Compare with defaults filled.")] = False,
) -> Response:
    """Stored fields by default; ``effective`` compares the complete values."""
    address = entry_address(env, area, key)
    _guard(grant, Role.READER, address)
    store = store_of(request)
    ops = store.diff(address, _ref(from_, "from"), _ref(to, "to"), effective=effective)
    return json_response({"operations": store.redacted_ops(ops, env, address.area)})


def _ref(text: str, name: str) -> int | datetime:
    return parsing.version_or_time(text, name=name)
