"""The entry editor (``/ui/envs/{env}/entries/{area}/{key}``): the form generated from
the area's schema or the raw JSON, a preview of the change checked by the store's own
validation, and a save conditional on the version the page loaded.

Access is the API's: the reader role on the area to see the page, the writer role to
preview or save (refused by the server whatever the page showed); an entry outside the
token's scopes answers as the API does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from domain.errors import InvalidValueError, VersionConflictError
from domain.values import JsonObject
from infrastructure.console.editor_data import (
    change_rows,
    checked,
    field_errors_of,
    loaded,
    posted_value,
)
from infrastructure.console.editor_fields import find_group, numbered
from infrastructure.console.editor_page import (
    Ref,
    Target,
    View,
    after_write,
    context,
    may_reveal,
    notice_of,
    posted_view,
    provenance,
    readable,
    refused,
    render,
    writable,
)
from infrastructure.console.render import fragment
from infrastructure.console.security import Form, SignedIn
from infrastructure.http.common import store_of
from infrastructure.http.problems import BadRequestError
from infrastructure.http.services import services_of

router = APIRouter()
ENTRY = "/envs/{env}/entries/{area}/{key}"


@router.get(ENTRY, summary="Entry editor")
def show(
    request: Request,
    ref: Ref,
    user: SignedIn,
    mode: Annotated[str, Query(pattern="^(form|raw)$")] = "form",
) -> Response:
    """The entry's form (``mode=raw``: its stored JSON), version and last change."""
    target = readable(request, user, ref)
    return render(request, user, target, View(mode=mode, notice=notice_of(request)))


@router.get(ENTRY + "/item", summary="A new item of a group (htmx)")
def new_item(
    request: Request,
    ref: Ref,
    user: SignedIn,
    group: Annotated[str, Query(max_length=500)],
    index: Annotated[int, Query(ge=0, le=9999)],
) -> Response:
    """The inputs of a new item of ``group`` numbered ``index``, and the add button
    moved on to the next index."""
    target = readable(request, user, ref)
    values = context(request, user, target, View())
    found = find_group(values["fields"], group)
    if found is None or found.template is None:
        raise BadRequestError(f"there is no group {group!r} in this form")
    item = numbered(found.template, group, index)
    values |= {"group": found, "item": item, "next_index": index + 1}
    return fragment(request, "editor_item.html", **values)


def _posted(
    request: Request, user: SignedIn, ref: Ref, form: Form
) -> tuple[Target, JsonObject] | Response:
    """The entry a write is about and the value its form stands for; or the form again
    with its errors (a bad address or version, or fields that do not parse)."""
    try:
        target = writable(request, user, ref, form)
    except InvalidValueError as exc:
        fallback = readable(request, user, ref)
        return refused(request, user, fallback, form, value={}, errors=field_errors_of(exc))
    limits = store_of(request).limits_for(target.address.environment)
    value, errors = posted_value(target.entry.model, form, target.entry.stored, limits)
    if errors:
        return refused(request, user, target, form, value=value, errors=errors)
    return target, value


@router.post(ENTRY + "/preview", summary="Preview an edit")
def preview(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """The change the form stands for, validated and sealed as a save would be: the
    stored change and the effective one, with Save; or the form with its errors."""
    posted = _posted(request, user, ref, form)
    if isinstance(posted, Response):
        return posted
    target, value = posted
    try:
        shown = change_preview(request, user, target, value)
    except InvalidValueError as exc:
        return refused(request, user, target, form, value=value, errors=field_errors_of(exc))
    view = posted_view(target, form, value, [])
    view.preview = shown
    if not request.headers.get("HX-Request"):
        return render(request, user, target, view)
    view.retyped = frozenset()  # htmx swaps in the preview only: the inputs keep their text
    return fragment(request, "editor_preview.html", **context(request, user, target, view))


def change_preview(
    request: Request, user: SignedIn, target: Target, value: JsonObject
) -> dict[str, Any]:
    """What the preview shows of saving ``value``: the stored and effective changes,
    validated and sealed as a save would be, and the version the entry moved on to
    since it was loaded (``None`` if it did not). Raises :class:`InvalidValueError`."""
    entry, store = target.entry, store_of(request)
    result = checked(
        store,
        target.address,
        value,
        entry.stored or None,
        may_reveal=may_reveal(user, target.address),
    )
    current = loaded(store, target.address)
    before = entry.stored if entry.exists else None
    return {
        "stored_rows": change_rows(store, target.address, before, result.stored),
        "effective_rows": change_rows(
            store, target.address, entry.complete if entry.exists else None, result.complete
        ),
        "moved_on": current.version if current.version != entry.version else None,
    }


@router.post(ENTRY + "/save", summary="Save an edit")
def save(request: Request, ref: Ref, user: SignedIn, form: Form) -> Response:
    """Saved only if the entry is still at the version the page loaded: else the page
    shows the other writer's change, keeps the form's input and writes nothing."""
    posted = _posted(request, user, ref, form)
    if isinstance(posted, Response):
        return posted
    target, value = posted
    entry, store = target.entry, store_of(request)
    try:
        result = store.set(
            target.address,
            value,
            provenance=provenance(user, form),
            expected_version=entry.version,
            may_reveal=may_reveal(user, target.address),
        )
    except InvalidValueError as exc:
        return refused(request, user, target, form, value=value, errors=field_errors_of(exc))
    except VersionConflictError:
        return conflict(request, user, target, posted_view(target, form, value, []))
    services_of(request).readcache.drop(target.address)
    return after_write(request, target, "saved" if result.changed else "unchanged", result.version)


def conflict(request: Request, user: SignedIn, target: Target, view: View) -> Response:
    """The page (409) saying who changed the entry since it was loaded and how, with
    the user's input kept; nothing was written."""
    store = store_of(request)
    current = loaded(store, target.address)
    before = target.entry.stored if target.entry.exists else None
    after = None if current.deleted or not current.exists else current.stored
    view.conflict = {
        "current": current,
        "rows": change_rows(store, target.address, before, after),
    }
    return render(request, user, target, view, status=409)
