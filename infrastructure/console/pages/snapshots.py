"""Snapshots and restore of an environment: ``/ui/envs/{env}/snapshots`` (list, create,
delete with confirmation) and ``/ui/envs/{env}/restore`` (the dry run, then the apply).

The rules are the API's (``/v1/envs/{env}/snapshots``, ``POST /v1/envs/{env}/restore``):
reading snapshots needs the reader role on every area of the environment, creating,
deleting and restoring the writer role on every area. A restore is applied only if
the environment has not changed since the position its dry run was computed at: a
moved environment is refused (409, nothing written) and the page shows the new dry run.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from domain.access import Role
from domain.address import Address, check_name
from domain.errors import InvalidValueError, VersionConflictError
from infrastructure.console.diffops import env_rows
from infrastructure.console.render import base_path, page
from infrastructure.console.security import ConsoleUser, Form, SignedIn
from infrastructure.console.snapshots_data import (
    RestorePoint,
    counts,
    position_of,
    reason_of,
    restore_point,
    values_before,
)
from infrastructure.http.common import store_of
from infrastructure.http.security import provenance
from infrastructure.http.services import services_of
from infrastructure.persistence.recorder import EnvironmentMovedError
from infrastructure.store.bulk import BulkResult
from infrastructure.store.environment import PointRef

router = APIRouter()
SOURCE = "console"
PointField = Annotated[str | None, Query(max_length=200)]


def _env(env: str, user: ConsoleUser, role: Role) -> str:
    """The checked environment name; ``role`` must reach every area of it (as the API's
    ``env_for``): 400 for a bad name, 403 otherwise."""
    check_name("environment", env)
    user.grant.require(role, env)
    return env


def _list_url(request: Request, env: str, **notice: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in notice.items())
    return f"{base_path(request)}/envs/{quote(env, safe='')}/snapshots" + (
        f"?{query}" if query else ""
    )


def _list_page(
    request: Request, env: str, user: ConsoleUser, status_code: int = 200, **extra: Any
) -> Response:
    """The snapshot list with its forms; ``extra``: a form's error and its values."""
    snapshots = store_of(request).snapshots(env)
    context: dict[str, Any] = {
        "env": env,
        "snapshots": snapshots,
        "writer": user.can(Role.WRITER, env),
        "created": request.query_params.get("created", ""),
        "deleted": request.query_params.get("deleted", ""),
        "error": "",
        "name": "",
        "reason": "",
    }
    return page(request, "snapshots.html", status_code=status_code, **(context | extra))


@router.get("/envs/{env}/snapshots", summary="Snapshots of an environment")
def snapshots(request: Request, env: str, user: SignedIn) -> Response:
    """Named snapshots, newest first: name, position, time, who, why, entry count; for
    writers the forms to create, delete and restore."""
    return _list_page(request, _env(env, user, Role.READER), user)


@router.post("/envs/{env}/snapshots", summary="Create a snapshot")
def create_snapshot(request: Request, env: str, user: SignedIn, form: Form) -> Response:
    """Name the environment's state now (fields ``name``, ``reason``); back to the list.
    A bad or taken name shows the list again with the error (422, 409)."""
    _env(env, user, Role.WRITER)
    name, why = (form.get("name") or "").strip(), form.get("reason") or ""
    try:
        reason = reason_of(why)
        store_of(request).create_snapshot(env, name, actor=user.name, reason=reason)
    except (InvalidValueError, VersionConflictError) as exc:
        status = 409 if isinstance(exc, VersionConflictError) else 422
        return _list_page(request, env, user, status, error=str(exc), name=name, reason=why)
    return RedirectResponse(_list_url(request, env, created=name), status_code=303)


@router.get("/envs/{env}/snapshots/{name}/delete", summary="Confirm deleting a snapshot")
def confirm_delete(request: Request, env: str, name: str, user: SignedIn) -> Response:
    """The confirmation page (404 when there is no such snapshot)."""
    _env(env, user, Role.WRITER)
    info = store_of(request).snapshot(env, name)
    return page(request, "snapshot_delete.html", env=env, info=info)


@router.post("/envs/{env}/snapshots/{name}/delete", summary="Delete a snapshot")
def delete_snapshot(request: Request, env: str, name: str, user: SignedIn) -> Response:
    """Forget the snapshot (the log is untouched); back to the list. 404 when absent."""
    _env(env, user, Role.WRITER)
    store_of(request).delete_snapshot(env, name)
    return RedirectResponse(_list_url(request, env, deleted=name), status_code=303)


def _plan(request: Request, env: str, user: ConsoleUser, at: PointRef) -> BulkResult:
    """The restore's dry run: what would change, at the current position."""
    why = provenance(user.grant, request, None, source=SOURCE)
    return store_of(request).restore(env, at, provenance=why, dry_run=True)


def _restore_page(
    request: Request, point: RestorePoint, result: BulkResult, status_code: int = 200, **extra: Any
) -> Response:
    """A restore's dry run (with the apply form) or, ``applied``, its outcome. Each
    step's fields show what the entry holds at the plan's position (redacted) and what
    the step makes of it."""
    before = values_before(store_of(request), result) if result.changes else {}
    context: dict[str, Any] = {
        "env": result.environment,
        "point": point,
        "result": result,
        "areas": env_rows(result.changes, before),
        "counts": counts(result),
        "moved": False,
        "reason": "",
    }
    template = "restore_done.html" if result.applied else "restore.html"
    return page(request, template, status_code=status_code, **(context | extra))


@router.get("/envs/{env}/restore", summary="Restore: the dry run")
def restore_preview(
    request: Request,
    *,
    env: str,
    user: SignedIn,
    to_snapshot: PointField = None,
    to_time: PointField = None,
    to_position: PointField = None,
) -> Response:
    """What restoring to exactly one of a snapshot, a time or a position would change,
    computed as ``restore --dry-run`` does; writes nothing. 400 for a bad point."""
    _env(env, user, Role.WRITER)
    point, at = restore_point(to_snapshot, to_time, to_position)
    return _restore_page(request, point, _plan(request, env, user, at))


@router.post("/envs/{env}/restore", summary="Restore: apply")
def restore_apply(request: Request, env: str, user: SignedIn, form: Form) -> Response:
    """Apply the restore atomically if the environment did not change after
    ``expected_position`` (the dry run's); else 409 with the new dry run, nothing written."""
    _env(env, user, Role.WRITER)
    fields = (form.get("to_snapshot"), form.get("to_time"), form.get("to_position"))
    point, at = restore_point(*fields)
    expected = position_of(form.get("expected_position"), "expected position")
    why = form.get("reason") or ""
    done = provenance(user.grant, request, reason_of(why), source=SOURCE)
    try:
        result = store_of(request).restore(
            env, at, provenance=done, expected_position=expected, dry_run=False
        )
    except EnvironmentMovedError:
        fresh = _plan(request, env, user, at)
        return _restore_page(request, point, fresh, 409, moved=True, reason=why, expected=expected)
    if result.applied:  # read-your-writes on this server, as the API's restore
        for change in result.changes:
            services_of(request).readcache.drop(Address(env, change.area, change.key))
    return _restore_page(request, point, result, applied_now=True)
