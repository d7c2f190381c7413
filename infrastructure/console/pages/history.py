"""An entry's history (``/ui/envs/{env}/entries/{area}/{key}/history``): its versions
newest first, a side-by-side diff between any two, and rollback to a version or a time
with a preview and a reason (writers), conditional on the version previewed."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from domain import parsing
from domain.access import Role
from domain.address import Address
from domain.errors import BrokenLogError, EntryStateError, InvalidValueError, VersionConflictError
from infrastructure.console.history_data import (
    VersionDiff,
    current_entry,
    history_page,
    page_param,
    rollback_plan,
    target_version,
    version_diff,
    version_param,
)
from infrastructure.console.render import base_path, page
from infrastructure.console.security import ConsoleUser, Form, FormFields, SignedIn
from infrastructure.http.common import entry_address, store_of
from infrastructure.http.security import provenance
from infrastructure.http.services import services_of
from infrastructure.store import ConfigStore

router = APIRouter()

ENTRY = "/envs/{env}/entries/{area}/{key}"
#: The channel recorded with changes made here.
SOURCE = "console"
MAX_REASON = 2000
OptionalText = Annotated[str | None, Query()]


def entry_url(request: Request, address: Address, suffix: str = "") -> str:
    """The console's URL of an entry (its editor), with ``suffix`` (``/history``)."""
    parts = (address.environment, address.area, address.key)
    env, area, key = (quote(part, safe="") for part in parts)
    return f"{base_path(request)}/envs/{env}/entries/{area}/{key}{suffix}"


def _reader(user: ConsoleUser, env: str, area: str, key: str, role: Role) -> Address:
    """The address, once ``user`` is known to hold ``role`` on it (403 otherwise)."""
    address = entry_address(env, area, key)
    user.grant.require(role, address.environment, address.area)
    return address


@router.get(ENTRY + "/history", summary="An entry's history")
def history(
    request: Request,
    *,
    env: str,
    area: str,
    key: str,
    user: SignedIn,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: OptionalText = None,
    page_no: Annotated[str | None, Query(alias="page")] = None,
    rolled: OptionalText = None,
    unchanged: OptionalText = None,
) -> Response:
    """Versions (newest first, paged), the diff of ``from`` and ``to`` (default: the last
    change), and rollback links for writers. A broken log is a message (503)."""
    address = _reader(user, env, area, key, Role.READER)
    store = store_of(request)
    context: dict[str, Any] = {
        "address": address,
        "entry_url": entry_url(request, address),
        "history_url": entry_url(request, address, "/history"),
        "can_rollback": user.can(Role.WRITER, address.environment, address.area),
        "rolled": version_param(rolled, name="rolled"),
        "unchanged": version_param(unchanged, name="unchanged"),
    }
    number = page_param(page_no)
    try:
        listed = history_page(store, address, number)
        diff = _chosen_diff(store, address, listed.latest, from_, to)
    except BrokenLogError as exc:
        return page(request, "history.html", status_code=503, broken=str(exc), **context)
    return page(request, "history.html", listed=listed, diff=diff, **context)


def _chosen_diff(
    store: ConfigStore, address: Address, latest: int, left: str | None, right: str | None
) -> VersionDiff:
    """The diff the page shows: ``from``/``to`` when given, else the last change."""
    to = version_param(right, name="to", latest=latest) or latest
    start = version_param(left, name="from", latest=latest) or max(1, to - 1)
    return version_diff(store, address, start, to)


@router.get(ENTRY + "/rollback", summary="Preview a rollback")
def rollback_preview(
    request: Request,
    *,
    env: str,
    area: str,
    key: str,
    user: SignedIn,
    to_version: OptionalText = None,
    to_time: OptionalText = None,
) -> Response:
    """What the entry becomes (current -> target) and the form to confirm it, with a
    reason. Writers only (403); 400 for a bad version or time."""
    address = _reader(user, env, area, key, Role.WRITER)
    store = store_of(request)
    version = version_param(to_version, name="to_version")
    moment = parsing.moment(to_time, name="to_time") if to_time else None
    try:
        target = target_version(store, address, version, moment)
        return _preview(request, store, address, target, to_time=to_time)
    except BrokenLogError as exc:
        return _broken(request, address, exc)


def _preview(
    request: Request,
    store: ConfigStore,
    address: Address,
    target: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    plan = rollback_plan(store, address, target)
    return page(
        request,
        "rollback.html",
        status_code=status_code,
        address=address,
        plan=plan,
        entry_url=entry_url(request, address),
        history_url=entry_url(request, address, "/history"),
        **extra,
    )


def _broken(request: Request, address: Address, exc: BrokenLogError) -> Response:
    return page(
        request,
        "history.html",
        status_code=503,
        address=address,
        broken=str(exc),
        entry_url=entry_url(request, address),
        history_url=entry_url(request, address, "/history"),
        can_rollback=False,
    )


@router.post(ENTRY + "/rollback", summary="Roll an entry back")
def rollback(
    request: Request, *, env: str, area: str, key: str, user: SignedIn, form: Form
) -> Response:
    """Append a version equal to ``to_version`` if the entry is still at
    ``expected_version`` (else 409 with a fresh preview; nothing written), then back to
    the history. Writers only (403); 400 for bad fields; 422 when today's rules refuse
    the old value."""
    address = _reader(user, env, area, key, Role.WRITER)
    target = _required(form, "to_version")
    expected = _required(form, "expected_version")
    reason = _reason(form)
    store = store_of(request)
    try:
        who = provenance(user.grant, request, reason or None, source=SOURCE)
        result = store.rollback(
            address, provenance=who, to_version=target, expected_version=expected
        )
    except (VersionConflictError, InvalidValueError, EntryStateError) as exc:
        status, message = (
            (409, _conflict_text(exc)) if isinstance(exc, VersionConflictError) else (422, str(exc))
        )
        return _again(
            request,
            store,
            address,
            target=target,
            reason=reason,
            status_code=status,
            message=message,
        )
    except BrokenLogError as exc:
        return _broken(request, address, exc)
    services_of(request).readcache.drop(address)  # read-your-writes, as the API does
    query = (
        {"rolled": result.version, "from": expected, "to": result.version}
        if result.changed
        else {"unchanged": target}
    )
    target_url = entry_url(request, address, "/history") + "?" + urlencode(query)
    return RedirectResponse(target_url, status_code=303)


def _required(form: FormFields, name: str) -> int:
    version = version_param(form.get(name), name=name)
    if version is None:
        raise parsing.MalformedInputError(name, "is required")
    return version


def _reason(form: FormFields) -> str:
    """The reason field, trimmed; raises :class:`MalformedInputError` when too long."""
    reason = (form.get("reason") or "").strip()
    if len(reason) > MAX_REASON:
        raise parsing.MalformedInputError("reason", f"at most {MAX_REASON} characters")
    return reason


def _conflict_text(exc: VersionConflictError) -> str:
    """Why nothing was written, in the store's words."""
    return (
        f"Nothing was written: the entry changed since the preview ({exc}). "
        "Here is the rollback against its current version; confirm again if it is still right."
    )


def _again(
    request: Request,
    store: ConfigStore,
    address: Address,
    *,
    target: int,
    reason: str,
    status_code: int,
    message: str,
) -> Response:
    """The preview again, against the entry as it is now, with ``message`` on top."""
    current = current_entry(store, address)
    actor = str(current.last_meta.get("actor", "")) if current.last_meta else ""
    return _preview(
        request,
        store,
        address,
        target,
        status_code=status_code,
        error=message,
        reason=reason,
        changed_by=actor if status_code == 409 else None,
    )
