"""Scheduled changes of an environment: ``/ui/envs/{env}/scheduled`` lists the pending
ones (and the latest applied, cancelled or failed), and writers cancel one with a reason.
Scheduling itself happens in the entry editor.

The rules are ``/v1/envs/{env}/scheduled``'s: only changes of areas the token reads are
listed, values are redacted by the target area's schema, and cancelling needs the
writer role on the target area (409 when the change is no longer pending)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from domain.access import Role
from domain.address import check_name
from domain.errors import ConfigStoreError
from infrastructure.console.diffview import compact
from infrastructure.console.errors import BackLink, store_error_page
from infrastructure.console.render import base_path, page
from infrastructure.console.security import ConsoleUser, Form, SignedIn
from infrastructure.console.snapshots_data import reason_of
from infrastructure.http.common import store_of
from infrastructure.http.scheduled import scheduled_for
from infrastructure.http.security import provenance
from infrastructure.presenters import scheduled_json
from infrastructure.store import ConfigStore
from infrastructure.store.views import ScheduledView

router = APIRouter()
SOURCE = "console"
#: Finished changes shown below the pending ones, latest first.
RECENT = 50


@dataclass(frozen=True)
class ScheduledRow:
    """One scheduled change as the page shows it (its value redacted, as JSON text)."""

    view: ScheduledView
    value: str
    cancellable: bool


def _row(store: ConfigStore, user: ConsoleUser, view: ScheduledView) -> ScheduledRow:
    change = view.change
    shown = scheduled_json(view, store.secret_schema(change.environment, change.area))
    value = "" if shown["value"] is None else compact(shown["value"])
    writer = view.status == "pending" and user.can(Role.WRITER, change.environment, change.area)
    return ScheduledRow(view, value, writer)


def _finished_at(view: ScheduledView) -> datetime:
    return view.updated_at or datetime.min.replace(tzinfo=UTC)


@router.get("/envs/{env}/scheduled", summary="Scheduled changes of an environment")
def scheduled(request: Request, env: str, user: SignedIn) -> Response:
    """Pending changes by due time, then the latest :data:`RECENT` finished ones: when,
    what (operation and redacted value), who and why; a cancel form for writers."""
    check_name("environment", env)
    user.grant.require(Role.READER, env, None, any_area=True)
    store = store_of(request)
    views = [
        v
        for v in store.scheduled_changes(env, include_done=True)
        if user.grant.sees(env, v.change.area)
    ]
    pending = [_row(store, user, v) for v in views if v.status == "pending"]
    done = sorted((v for v in views if v.status != "pending"), key=_finished_at, reverse=True)
    return page(
        request,
        "scheduled.html",
        env=env,
        pending=pending,
        done=[_row(store, user, v) for v in done[:RECENT]],
        more=max(0, len(done) - RECENT),
        cancelled=request.query_params.get("cancelled", ""),
    )


@router.post("/envs/{env}/scheduled/{schedule_id}/cancel", summary="Cancel a scheduled change")
def cancel(request: Request, env: str, schedule_id: str, user: SignedIn, form: Form) -> Response:
    """Cancel a pending change (field ``reason``); back to the list. 404 when there is no
    such change in ``env`` or the user may not read its area (as from the API), 403
    without the writer role on it, 409 when it is no
    longer pending: each an error page that links back to the list."""
    target = f"{base_path(request)}/envs/{quote(check_name('environment', env), safe='')}/scheduled"
    try:
        user.grant.require(Role.WRITER, env, None, any_area=True)
        why = provenance(user.grant, request, reason_of(form.get("reason")), source=SOURCE)
        store = store_of(request)
        scheduled_for(store, user.grant, env, schedule_id, Role.WRITER)  # the API's rule
        store.cancel_scheduled(schedule_id, provenance=why, environment=env)
    except ConfigStoreError as exc:  # the page says why, with the way back to the list
        back = BackLink(target, f"Back to the scheduled changes of {env}")
        return store_error_page(request, exc, back=back)
    return RedirectResponse(f"{target}?cancelled={quote(schedule_id, safe='')}", status_code=303)
