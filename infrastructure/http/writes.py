"""Writes of one entry: PUT, PATCH, DELETE, undelete and rollback, each conditional on
``If-Match`` (412 when stale) and answering the new ``ETag`` and log position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from domain import parsing
from domain.access import Grant, Role
from domain.address import Address
from domain.entry import Provenance
from domain.errors import VersionConflictError
from domain.parsing import ANY_VERSION, MAX_INT64
from infrastructure.http.common import (
    ENTRY,
    POSITION_HEADER,
    UtcTime,
    entry_address,
    grant_may_reveal,
    header_text,
    json_response,
    store_of,
)
from infrastructure.http.problems import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from infrastructure.http.schemas import WRITE_ERRORS, WriteOut, problems
from infrastructure.http.security import Caller, provenance
from infrastructure.http.services import services_of
from infrastructure.presenters import write_json
from infrastructure.retry import HTTP_ANY_VERSION
from infrastructure.store import ConfigStore
from infrastructure.store.views import WriteResult

router = APIRouter(prefix="/v1/envs/{env}", tags=["entries"])

IfMatch = Annotated[
    str | None,
    Header(description='The version the write expects, e.g. "3" (ETag); `*`: any, if it exists.'),
]
IfNoneMatch = Annotated[str | None, Header(description="`*`: create only, never overwrite.")]


class RollbackBody(BaseModel):
    """Roll back to a version or to the value current at a time (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    to_version: int | None = Field(default=None, ge=1, le=MAX_INT64)
    to_time: UtcTime | None = None
    reason: str | None = Field(default=None, max_length=2000)


class ReasonBody(BaseModel):
    """An optional reason, recorded with the change."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class _Command:
    """One authorised write: where, by whom, expecting which version (``any_version``:
    ``If-Match: *``, whatever version is current, but the entry must exist)."""

    store: ConfigStore
    address: Address
    who: Provenance
    expected: int | None
    forget: Callable[[Address], None]
    any_version: bool = False

    def run(self, command: Callable[..., WriteResult], *args: Any, **kwargs: Any) -> Response:
        """Call a store command on the address; a stale ``If-Match`` is 412, other
        conflicts 409."""
        for attempt in HTTP_ANY_VERSION.tries():
            try:
                result = command(
                    self.address,
                    *args,
                    provenance=self.who,
                    expected_version=self._expected(),
                    **kwargs,
                )
            except VersionConflictError as exc:
                if self.expected is None and not self.any_version:
                    raise
                if self.any_version and not HTTP_ANY_VERSION.is_last(attempt):
                    continue  # `*`: another writer moved it on; any current version will do
                raise PreconditionFailedError(str(exc)) from None
            return self._answer(result)
        raise AssertionError("unreachable")

    def _expected(self) -> int | None:
        """The version to expect: the one given, or (``*``) the current one; 412 when
        ``*`` finds no current entry."""
        if not self.any_version:
            return self.expected
        entry = self.store.load(self.address)
        if entry is None or entry.deleted:
            raise PreconditionFailedError(
                f"If-Match: * needs a current entry; {self.address} "
                + ("is deleted" if entry else "does not exist")
            )
        return entry.version

    def _answer(self, result: WriteResult) -> Response:
        self.forget(self.address)  # read-your-writes on this server, before the follower
        created = result.changed and result.version == 1
        response = json_response(write_json(result), 201 if created else 200)
        response.headers["ETag"] = f'"{result.version}"'
        response.headers[POSITION_HEADER] = str(result.position)
        return response


def _command(
    request: Request,
    grant: Grant,
    env: str,
    area: str,
    key: str,
    if_match: str | None,
    if_none_match: str | None = None,
    *,
    reason: str | None = None,
) -> _Command:
    address = entry_address(env, area, key)
    grant.require(Role.WRITER, address.environment, address.area)
    expected = _expected(request, if_match, if_none_match)
    who = provenance(grant, request, reason)
    forget = services_of(request).readcache.drop
    if expected == ANY_VERSION:
        return _Command(store_of(request), address, who, None, forget, any_version=True)
    assert not isinstance(expected, str)
    return _Command(store_of(request), address, who, expected, forget)


def _expected(
    request: Request, if_match: str | None, if_none_match: str | None
) -> int | str | None:
    """The expected version from ``If-Match`` (``*``: any current one), or 0 from
    ``If-None-Match: *``. Raises :class:`MalformedInputError` (400) naming the header."""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise BadRequestError("If-None-Match only accepts *")
        return 0
    if if_match is None:
        if services_of(request).options.require_if_match:
            raise PreconditionRequiredError("this server requires If-Match on writes")
        return None
    return parsing.entity_tag(header_text(if_match), name="If-Match")


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
    cmd = _command(request, grant, env, area, key, if_match, if_none_match)
    return cmd.run(cmd.store.set, value, may_reveal=grant_may_reveal(grant, env, [area]))


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
    cmd = _command(request, grant, env, area, key, if_match)
    return cmd.run(cmd.store.patch, merge, may_reveal=grant_may_reveal(grant, env, [area]))


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
    cmd = _command(request, grant, env, area, key, if_match)
    return cmd.run(cmd.store.delete)


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
    reason = body.reason if body else None
    cmd = _command(request, grant, env, area, key, if_match, reason=reason)
    return cmd.run(cmd.store.undelete)


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
    cmd = _command(request, grant, env, area, key, if_match, reason=body.reason)
    if (body.to_version is None) == (body.to_time is None):
        raise BadRequestError("give exactly one of to_version and to_time")
    return cmd.run(cmd.store.rollback, to_version=body.to_version, to_time=body.to_time)
