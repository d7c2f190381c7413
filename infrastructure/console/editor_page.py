"""The entry editor's page: who may do what on it, the entry it is about, and the
answers its handlers give (the page, the form after a refusal, the preview).

The handlers are in :mod:`infrastructure.console.pages.editor` (show, preview, save)
and :mod:`infrastructure.console.pages.editor_actions` (schedule, delete, undelete,
reveal); both check access with the grant exactly as the HTTP API's entry routes do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from domain import parsing
from domain.access import Role
from domain.address import Address, InvalidAddressError
from domain.entry import Provenance
from domain.errors import FieldError, InvalidValueError
from domain.secret_schema import secret_paths_in
from infrastructure.console.editor_data import (
    APPLY_AT,
    RAW_FIELD,
    Loaded,
    holds_typed_secret,
    loaded,
    raw_text,
    raw_without_typed,
    typed_secrets,
)
from infrastructure.console.editor_fields import dom_id, errors_by_field, with_posted
from infrastructure.console.forms import FormField, form_fields
from infrastructure.console.render import base_path, fragment, page
from infrastructure.console.security import ConsoleUser, FormFields
from infrastructure.http.common import entry_address, grant_may_reveal, store_of

#: The key in an editor URL that stands for a new entry of a keyed area.
NEW_KEY = "new"
#: What the console records as the source of its changes.
SOURCE = "console"
_NOTICES = {
    "saved": "Saved version {version}.",
    "unchanged": "Nothing changed: the entry stays at version {version}.",
    "deleted": "Deleted (version {version}). Undelete brings it back.",
    "undeleted": "Undeleted as version {version}.",
    "scheduled": "The change is scheduled.",
}


@dataclass(frozen=True)
class EntryRef:
    """The entry an editor URL names: ``/envs/{env}/entries/{area}/{key}``."""

    env: str
    area: str
    key: str


def entry_ref(env: str, area: str, key: str) -> EntryRef:
    """The URL's environment, area and key (checked by the handlers, as the API does)."""
    return EntryRef(env, area, key)


#: The entry of an editor URL (a handler parameter).
Ref = Annotated[EntryRef, Depends(entry_ref)]


@dataclass(frozen=True)
class Target:
    """The entry a request is about: its address (``key`` from the form for a new
    entry), the URL's key, and the version the page loaded."""

    address: Address
    url_key: str
    entry: Loaded

    @property
    def is_new(self) -> bool:
        """True on the new-entry form of a keyed area."""
        return self.url_key == NEW_KEY


@dataclass
class View:
    """What the editor template shows besides the entry (all optional)."""

    mode: str = "form"
    fields: list[FormField] | None = None
    raw: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    preview: dict[str, Any] | None = None
    conflict: dict[str, Any] | None = None
    notice: str | None = None
    typed_key: str = ""
    #: Secrets the user typed that the page does not send back (dotted paths).
    retyped: frozenset[str] = frozenset()


def editor_url(request: Request, env: str, area: str, key: str) -> str:
    """The editor's URL of an entry (``key`` ``new``: the new-entry form)."""
    env_part, area_part, key_part = (quote(part, safe="") for part in (env, area, key))
    return f"{base_path(request)}/envs/{env_part}/entries/{area_part}/{key_part}"


def readable(request: Request, user: ConsoleUser, ref: EntryRef) -> Target:
    """The entry behind a page (reader role on its area, as ``GET`` of the API needs).
    Raises :class:`InvalidAddressError`, :class:`PermissionDeniedError`,
    :class:`AreaNotFoundError`, :class:`NotFoundError` (an entry that does not exist,
    for readers) or :class:`StorageError`."""
    env, area, key = ref.env, ref.area, ref.key
    address = entry_address(env, area, key)
    user.grant.require(Role.READER, address.environment, address.area)
    store = store_of(request)
    if key == NEW_KEY and not store.area_model(env, area).singleton:
        user.grant.require(Role.WRITER, address.environment, address.area)
        model = store.area_model(env, area)
        return Target(address, key, Loaded(address, model, 0, {}, {}, False, None, None))
    entry = loaded(store, address)
    if not entry.exists and not user.can(Role.WRITER, env, area):
        store.get(address)  # the API's 404, with its message
    return Target(address, key, entry)


def writable(request: Request, user: ConsoleUser, ref: EntryRef, form: FormFields) -> Target:
    """The entry a write is about, at the version the page loaded (form field
    ``version``), checked as the API's writes are (writer role on its area). A new
    entry's key comes from field ``entry_key``. Raises as :func:`readable`, and
    :class:`InvalidValueError` naming ``entry_key`` for a bad new key."""
    env, area, key = ref.env, ref.area, ref.key
    user.grant.require(Role.WRITER, entry_address(env, area, key).environment, area)
    version = parsing.whole_number(form.get("version") or "0", name="version")
    if key == NEW_KEY and not store_of(request).area_model(env, area).singleton:
        new_key = (form.get("entry_key") or "").strip()
        try:
            address = entry_address(env, area, new_key)
        except InvalidAddressError as exc:
            raise InvalidValueError.single("entry_key", str(exc)) from None
        model = store_of(request).model_for(address)
        return Target(address, key, Loaded(address, model, 0, {}, {}, False, None, None))
    address = entry_address(env, area, key)
    if version == 0:  # loaded before it existed: the write must find it still missing
        model = store_of(request).model_for(address)
        return Target(address, key, Loaded(address, model, 0, {}, {}, False, None, None))
    return Target(address, key, loaded(store_of(request), address, version))


def provenance(user: ConsoleUser, form: FormFields) -> Provenance:
    """The signed-in token's name as actor, the form's reason, source ``console``.
    Raises :class:`InvalidValueError` naming ``reason``."""
    reason = (form.get("reason") or "").strip() or None
    return Provenance.checked(
        actor=user.name, reason=reason, source=SOURCE, correlation_id=str(uuid.uuid4())
    )


def may_reveal(user: ConsoleUser, address: Address) -> bool:
    """The API's rule: whether a write keeps an equal plaintext secret unchanged."""
    return grant_may_reveal(user.grant, address.environment, [address.area])


def notice_of(request: Request) -> str | None:
    """The notice of a redirect after a write (``?done=saved&version=3``)."""
    done = request.query_params.get("done", "")
    version = request.query_params.get("version", "")
    text = _NOTICES.get(done)
    if text is None or not parsing.is_whole_number(version or "0"):
        return None
    return text.format(version=version)


def after_write(request: Request, target: Target, done: str, version: int) -> Response:
    """Back to the editor page of the entry, saying what was done (303)."""
    env, area, key = target.address.environment, target.address.area, target.address.key
    url = editor_url(request, env, area, key) + f"?done={done}&version={version}"
    return RedirectResponse(url, status_code=303)


def render(
    request: Request, user: ConsoleUser, target: Target, view: View, *, status: int = 200
) -> HTMLResponse:
    """The whole editor page."""
    return page(request, "editor.html", status_code=status, **context(request, user, target, view))


def render_form(
    request: Request, user: ConsoleUser, target: Target, view: View, *, status: int = 200
) -> HTMLResponse:
    """The editor's form alone: for htmx it replaces ``#editor-form``; without htmx the
    whole page is answered."""
    if not request.headers.get("HX-Request"):
        return render(request, user, target, view, status=status)
    headers = {"HX-Retarget": "#editor-form", "HX-Reswap": "outerHTML"}
    values = context(request, user, target, view)
    return fragment(request, "editor_form.html", status_code=status, headers=headers, **values)


def refused(
    request: Request,
    user: ConsoleUser,
    target: Target,
    form: FormFields,
    *,
    value: dict[str, Any],
    errors: list[FieldError],
) -> HTMLResponse:
    """The form again (422), showing what the user posted and each error next to its
    field, with a summary."""
    return render_form(request, user, target, posted_view(target, form, value, errors), status=422)


def posted_view(
    target: Target, form: FormFields, value: dict[str, Any], errors: list[FieldError]
) -> View:
    """The editor showing the user's input, except the secrets it typed: those are never
    sent back (``retyped`` names them, so the page asks for them again; a raw JSON's are
    emptied, and raw text that is not JSON but may hold one is not shown again at all:
    ``retyped`` is then ``{"raw"}``). A secret input shows set or unset as the loaded
    entry has it."""
    model = target.entry.model
    mode = "raw" if form.get("mode") == "raw" else "form"
    fields = with_posted(form_fields(model, value, {}), form)
    raw = form.get(RAW_FIELD) if mode == "raw" else None
    if mode == "raw":
        emptied, retyped = raw_without_typed(model, value)
        raw = raw if emptied is None else emptied
        if not value and holds_typed_secret(model, raw or ""):  # JSON that cannot be read
            raw, retyped = None, frozenset({RAW_FIELD})  # None: the stored value instead
    else:
        retyped = typed_secrets(fields, form)
        stored = {".".join(map(str, p)) for p in secret_paths_in(model, target.entry.stored)}
        fields = _secret_state(fields, retyped, stored)
    key = (form.get("entry_key") or "") if target.is_new else ""
    return View(mode=mode, fields=fields, raw=raw, errors=errors, typed_key=key, retyped=retyped)


def _secret_state(
    fields: Iterable[FormField], typed: frozenset[str], stored: set[str]
) -> list[FormField]:
    """``fields`` with each typed secret shown set only if the entry stores it (the
    posted value holds the typed text, which is not kept)."""
    shown = []
    for item in fields:
        children = tuple(_secret_state(item.children, typed, stored))
        is_set = item.name in stored if item.name in typed else item.secret_set
        shown.append(replace(item, children=children, secret_set=is_set))
    return shown


def _inputs_besides(view: View) -> set[str]:
    """The page's inputs that are not fields of the value: the new entry's key, and the
    preview's "apply at" while the preview is shown."""
    return {"entry_key", APPLY_AT} if view.preview else {"entry_key"}


def context(request: Request, user: ConsoleUser, target: Target, view: View) -> dict[str, Any]:
    """Everything ``editor.html`` and its partials use."""
    store, entry, address = store_of(request), target.entry, target.address
    env, area = address.environment, address.area
    url = editor_url(request, env, area, target.url_key)
    fields = view.fields
    if fields is None:
        fields = form_fields(entry.model, entry.stored, entry.complete)
    raw = view.raw if view.raw is not None else raw_text(store, address, entry.stored)
    fallback = RAW_FIELD if view.mode == "raw" else None
    can_write = user.can(Role.WRITER, env, area) and not entry.deleted
    return {
        "target": target,
        "entry": entry,
        "address": address,
        "env": env,
        "area": area,
        "key": address.key,
        "url": url,
        "history_url": f"{editor_url(request, env, area, address.key)}/history",
        "scheduled_url": f"{base_path(request)}/envs/{quote(env, safe='')}/scheduled",
        "fields": fields,
        "raw": raw,
        "mode": view.mode,
        "errors": view.errors,
        "field_errors": errors_by_field(
            view.errors, fields, fallback=fallback, known=_inputs_besides(view)
        ),
        "preview": view.preview,
        "conflict": view.conflict,
        "notice": view.notice,
        "typed_key": view.typed_key,
        "retyped": sorted(view.retyped),
        "can_write": can_write,
        "can_delete": user.can(Role.WRITER, env, area) and entry.exists,
        "can_reveal": user.grant.role >= Role.ADMIN and user.grant.may_reveal(env, area),
        "dom_id": dom_id,
    }
