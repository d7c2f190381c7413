"""The entry editor's other writes: schedule the edit for later ("apply at"), delete and
undelete (each with a reason, conditional on the loaded version), and an admin's reveal
of one secret, recorded as the API records its reveals (through ``console``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from domain.access import Role
from domain.errors import FieldError, InvalidValueError, NotFoundError, VersionConflictError
from domain.secret_views import secret_places
from domain.values import JsonObject
from infrastructure.console.editor_data import (
    APPLY_AT,
    apply_time,
    field_errors_of,
    posted_value,
)
from infrastructure.console.editor_page import (
    Ref,
    Target,
    View,
    after_write,
    may_reveal,
    posted_view,
    provenance,
    readable,
    refused,
    render,
    render_form,
    writable,
)
from infrastructure.console.pages.editor import ENTRY, change_preview, conflict
from infrastructure.console.render import fragment
from infrastructure.console.security import Form, SignedIn
from infrastructure.http.common import entry_address, store_of
from infrastructure.http.revealing import reveal_value
from infrastructure.http.services import services_of
from infrastructure.store.reveals import VIA_CONSOLE

router = APIRouter()


@router.post(ENTRY + "/schedule", summary="Schedule an edit")
def schedule(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """Record the edit to be applied at ``apply_at`` (UTC unless it has an offset),
    validated now as the API's ``POST /scheduled`` does; applied only if the entry is
    then still at the loaded version."""
    try:
        target = writable(request, user, ref, form)
    except InvalidValueError as exc:
        fallback = readable(request, user, ref)
        return refused(request, user, fallback, form, value={}, errors=field_errors_of(exc))
    entry = target.entry
    limits = store_of(request).limits_for(target.address.environment)
    value, errors = posted_value(entry.model, form, entry.stored, limits)
    if errors:
        return refused(request, user, target, form, value=value, errors=errors)
    try:
        store_of(request).schedule_change(
            target.address,
            "set",
            value,
            due_at=apply_time(form.get(APPLY_AT) or ""),
            provenance=provenance(user, form),
            expected_version=entry.version,
            may_reveal=may_reveal(user, target.address),
        )
    except InvalidValueError as exc:
        return _not_scheduled(request, user, target, form, value=value, errors=field_errors_of(exc))
    return after_write(request, target, "scheduled", entry.version)


def _not_scheduled(
    request: Request,
    user: SignedIn,
    target: Target,
    form: Form,
    *,
    value: JsonObject,
    errors: list[FieldError],
) -> Response:
    """The form again (422) with the preview and its "apply at" input holding what the
    user typed, so an error about the time sits at that input. The store names its
    time ``at``; the form calls it ``apply_at``. Without a valid preview (the value
    itself was refused) the form alone, as any refused edit."""
    errors = [FieldError(APPLY_AT, e.message) if e.field == "at" else e for e in errors]
    try:
        shown = change_preview(request, user, target, value)
    except InvalidValueError:
        return refused(request, user, target, form, value=value, errors=errors)
    view = posted_view(target, form, value, errors)
    view.preview = shown | {"apply_at": form.get(APPLY_AT) or ""}
    return render_form(request, user, target, view, status=422)


@router.post(ENTRY + "/delete", summary="Delete an entry")
def delete(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """Delete the entry at the loaded version (history is kept)."""
    return _state_change(request, user, ref, form, undelete=False)


@router.post(ENTRY + "/undelete", summary="Undelete an entry")
def undelete(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """Bring the entry back with its last value, as a new version."""
    return _state_change(request, user, ref, form, undelete=True)


def _state_change(
    request: Request, user: SignedIn, ref: Ref, form: Form, *, undelete: bool
) -> Response:
    target = writable(request, user, ref, form)
    store = store_of(request)
    command = store.undelete if undelete else store.delete
    try:
        result = command(
            target.address,
            provenance=provenance(user, form),
            expected_version=target.entry.version,
        )
    except InvalidValueError as exc:
        return render(request, user, target, View(errors=field_errors_of(exc)), status=422)
    except VersionConflictError:
        return conflict(request, user, target, View())
    services_of(request).readcache.drop(target.address)
    return after_write(request, target, "undeleted" if undelete else "deleted", result.version)


@router.post(ENTRY + "/reveal", summary="Reveal one secret (admin)")
def reveal(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """The plaintext of the secret at field ``field`` of the loaded version, for admins
    who may reveal this area's secrets; recorded before it is shown (via ``console``).
    Any other role is refused (403), whatever the page showed."""
    address = entry_address(ref.env, ref.area, ref.key)
    user.grant.require(Role.ADMIN, address.environment, address.area)
    user.grant.require_reveal(address.environment, address.area)
    target = writable(request, user, ref, form)
    entry, wanted = target.entry, form.get("field") or ""
    schema = store_of(request).secret_schema(address.environment, address.area)
    places = {
        ".".join(str(p) for p in place): place for place in secret_places(schema, entry.stored)
    }
    if wanted not in places or entry.deleted:
        raise NotFoundError(f"no secret is stored at {wanted!r} in version {entry.version}")
    shown = reveal_value(request, user.grant, VIA_CONSOLE, address, entry.version, entry.stored)
    value = shown
    for part in places[wanted]:
        value = value[part]
    return fragment(
        request, "editor_reveal.html", field=wanted, secret=str(value), version=entry.version
    )
