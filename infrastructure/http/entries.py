"""``/v1/envs/{env}/entries``: read, write, history, diff, rollback and undelete of one
entry, with ``ETag``/``If-Match`` for optimistic concurrency."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain.access import Grant, Role
from domain.address import Address, check_name
from domain.errors import VersionConflictError
from infrastructure.http.common import (
    POSITION_HEADER,
    MinPosition,
    json_response,
    parse_time,
    store_of,
)
from infrastructure.http.problems import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from infrastructure.http.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    DiffOut,
    EntryListOut,
    EntryOut,
    HistoryOut,
    WriteOut,
    problems,
)
from infrastructure.http.security import Caller, provenance
from infrastructure.presenters import entry_json, history_json, write_json
from infrastructure.store.views import WriteResult

router = APIRouter(prefix="/v1/envs/{env}", tags=["entries"])
ENTRY = "/entries/{area}/{key}"

IfMatch = Annotated[
    str | None, Header(description='The version the write expects, e.g. "3" (ETag).')
]
IfNoneMatch = Annotated[str | None, Header(description="`*`: create only, never overwrite.")]


class RollbackBody(BaseModel):
    """Roll back to a version or to the value current at a time (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    to_version: int | None = Field(default=None, ge=1)
    to_time: datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)


class ReasonBody(BaseModel):
    """An optional reason, recorded with the change."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


def _address(env: str, area: str, key: str) -> Address:
    return Address(check_name("environment", env), area, key)


def _expected(request: Request, if_match: str | None, if_none_match: str | None) -> int | None:
    """The expected version from ``If-Match`` (or 0 from ``If-None-Match: *``)."""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise BadRequestError("If-None-Match only accepts *")
        return 0
    if if_match is None:
        if request.app.state.options.require_if_match:
            raise PreconditionRequiredError("this server requires If-Match on writes")
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequestError(
            f'If-Match must be a version as sent in ETag, e.g. "3"; got {if_match!r}'
        )
    return int(text)


def _written(result: WriteResult, status: int = 200) -> Response:
    response = json_response(write_json(result), status)
    response.headers["ETag"] = f'"{result.version}"'
    response.headers[POSITION_HEADER] = str(result.position)
    return response


def _write(request: Request, expected: int | None, action: Any) -> Response:
    """Run a write; a stale ``If-Match`` is 412, other conflicts 409."""
    try:
        result: WriteResult = action(expected)
    except VersionConflictError as exc:
        if expected is None:
            raise
        raise PreconditionFailedError(str(exc)) from None
    return _written(result, 201 if result.changed and result.version == 1 else 200)


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
    """Live entries, by area and key; secrets redacted."""
    store = store_of(request)
    check_name("environment", env)
    grant.require(Role.READER, env, area, any_area=area is None)
    views = store.list_entries(env, area, min_position=min_position)
    items = [
        entry_json(v, store.redacted(v.value)) for v in views if grant.sees(env, v.address.area)
    ]
    position = max((v.position or 0 for v in views), default=0)
    return json_response({"environment": env, "items": items}, headers=_at(position))


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
    version: Annotated[int | None, Query(ge=1)] = None,
    as_of: Annotated[datetime | None, Query(description="ISO-8601 time")] = None,
    reveal: Annotated[bool, Query(description="Secrets in plaintext (admin only).")] = False,
    stored: Annotated[bool, Query(description="Only the stored fields.")] = False,
) -> Response:
    """The value with defaults filled in (``stored``: only what was set)."""
    address = _address(env, area, key)
    _guard(grant, Role.ADMIN if reveal else Role.READER, address)
    if version is not None and as_of is not None:
        raise BadRequestError("give version or as_of, not both")
    store = store_of(request)
    view = store.get(address, version=version, as_of=as_of)
    value = view.stored if stored else view.value
    shown = store.revealed(value) if reveal else store.redacted(value)
    response = json_response(entry_json(view, shown), headers=_at(view.position or 0))
    response.headers["ETag"] = f'"{view.version}"'
    return response


@router.put(
    ENTRY,
    summary="Replace an entry's stored fields (creates it if needed)",
    response_model=WriteOut,
    responses={201: {"model": WriteOut, "description": "Created"}, **problems(*WRITE_ERRORS)},
)
def put_entry(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    value: Annotated[dict[str, Any], Body(description="The fields to store.")],
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """201 when created, 200 when replaced (or unchanged); 412 on a stale If-Match."""
    address = _address(env, area, key)
    _guard(grant, Role.WRITER, address)
    store = store_of(request)
    who = provenance(grant, request)
    return _write(
        request,
        _expected(request, if_match, if_none_match),
        lambda expected: store.set(address, value, provenance=who, expected_version=expected),
    )


@router.patch(
    ENTRY,
    summary="Merge an RFC 7396 patch into an entry",
    response_model=WriteOut,
    responses=problems(*WRITE_ERRORS),
)
def patch_entry(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    merge: Annotated[dict[str, Any], Body(description="RFC 7396 merge patch; null resets.")],
    if_match: IfMatch = None,
) -> Response:
    """``null`` returns a field to its default."""
    address = _address(env, area, key)
    _guard(grant, Role.WRITER, address)
    store = store_of(request)
    who = provenance(grant, request)
    return _write(
        request,
        _expected(request, if_match, None),
        lambda expected: store.patch(address, merge, provenance=who, expected_version=expected),
    )


@router.delete(
    ENTRY,
    summary="Delete an entry (history is kept)",
    response_model=WriteOut,
    responses=problems(*WRITE_ERRORS),
)
def delete_entry(
    request: Request, env: str, area: str, key: str, grant: Caller, if_match: IfMatch = None
) -> Response:
    """Undelete brings it back with its last value."""
    address = _address(env, area, key)
    _guard(grant, Role.WRITER, address)
    store = store_of(request)
    who = provenance(grant, request)
    return _write(
        request,
        _expected(request, if_match, None),
        lambda expected: store.delete(address, provenance=who, expected_version=expected),
    )


@router.post(
    ENTRY + "/undelete",
    summary="Bring back a deleted entry",
    response_model=WriteOut,
    responses=problems(*WRITE_ERRORS),
)
def undelete_entry(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    body: ReasonBody | None = None,
    if_match: IfMatch = None,
) -> Response:
    """With its last value, as a new version."""
    address = _address(env, area, key)
    _guard(grant, Role.WRITER, address)
    store = store_of(request)
    who = provenance(grant, request, body.reason if body else None)
    return _write(
        request,
        _expected(request, if_match, None),
        lambda expected: store.undelete(address, provenance=who, expected_version=expected),
    )


@router.post(
    ENTRY + "/rollback",
    summary="Roll an entry back to an earlier version",
    response_model=WriteOut,
    responses=problems(*WRITE_ERRORS),
)
def rollback_entry(
    request: Request,
    env: str,
    area: str,
    key: str,
    grant: Caller,
    body: RollbackBody,
    if_match: IfMatch = None,
) -> Response:
    """Appends a new version equal to the old one; history is never rewritten."""
    address = _address(env, area, key)
    _guard(grant, Role.WRITER, address)
    if (body.to_version is None) == (body.to_time is None):
        raise BadRequestError("give exactly one of to_version and to_time")
    store = store_of(request)
    who = provenance(grant, request, body.reason)
    return _write(
        request,
        _expected(request, if_match, None),
        lambda expected: store.rollback(
            address,
            provenance=who,
            to_version=body.to_version,
            to_time=body.to_time,
            expected_version=expected,
        ),
    )


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
    limit: Annotated[int | None, Query(ge=1, le=100_000, description="Only the last N.")] = None,
) -> Response:
    """Who, when, why and what changed (secrets redacted)."""
    address = _address(env, area, key)
    _guard(grant, Role.READER, address)
    store = store_of(request)
    items = store.history(address, limit=limit)
    body = [history_json(i, store.redacted(i.changes)) for i in items]
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
    address = _address(env, area, key)
    _guard(grant, Role.READER, address)
    store = store_of(request)
    ops = store.diff(address, _ref(from_, "from"), _ref(to, "to"), effective=effective)
    return json_response({"operations": store.redacted(ops)})


def _ref(text: str, name: str) -> int | datetime:
    return int(text) if text.isdigit() else parse_time(text, name=name)
