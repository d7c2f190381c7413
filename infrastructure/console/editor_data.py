"""What the entry editor reads and checks, through the store's own functions.

* :func:`loaded` — an entry as the editor shows it (stored and complete values, sealed),
  or a new one.
* :func:`posted_value` — the value a posted editor form (form or raw JSON mode) stands
  for, with the parse errors.
* :func:`checked` — the value as :meth:`StoreCommands.set` would store it: the same
  validation, key check and sealing, in the same order, without writing anything.
* :func:`change_rows` — side-by-side rows of two stored values, secrets redacted and the
  changed ones marked.
* :func:`typed_secrets`, :func:`raw_without_typed`, :func:`holds_typed_secret` — the
  secrets a posted form typed, which a page showing the form again must not send back
  (the user types them again).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.address import Address
from domain.areas.base import AreaModel
from domain.decisions import sealed_value
from domain.environment import EntryState
from domain.errors import FieldError, InvalidValueError, NotFoundError
from domain.limits import ValueLimits
from domain.parsing import MalformedInputError
from domain.secret_schema import Path, secret_paths_in
from domain.secrets import REDACTED
from infrastructure.console.diffview import DiffRow, changed_secret_paths, side_by_side
from infrastructure.console.editor_fields import walk
from infrastructure.console.forms import FormField, form_fields, value_from_form
from infrastructure.console.security import FormFields
from infrastructure.http.bodies import strict_json_problem
from infrastructure.http.common import parse_time
from infrastructure.store import ConfigStore
from infrastructure.store.views import EntryView

#: The form field holding the raw JSON of the raw mode.
RAW_FIELD = "raw"
#: Form fields of the editor itself, never fields of a value.
CONTROL_FIELDS = frozenset({"csrf", "version", "mode", RAW_FIELD, "entry_key", "reason"})


@dataclass(frozen=True)
class Loaded:
    """An entry as the editor loaded it: ``version`` 0 and empty values when it does not
    exist yet; ``stored`` and ``complete`` keep secrets sealed."""

    address: Address
    model: type[AreaModel]
    version: int
    stored: dict[str, Any]
    complete: dict[str, Any]
    deleted: bool
    view: EntryView | None
    source: str | None

    @property
    def exists(self) -> bool:
        """True when the entry has at least one version."""
        return self.view is not None


def loaded(store: ConfigStore, address: Address, version: int | None = None) -> Loaded:
    """``address`` now (or at ``version``), deleted or not; a new entry when it has no
    version. Raises :class:`InvalidAddressError`, :class:`AreaNotFoundError`,
    :class:`StoredValueError` (a value that cannot be served today) or
    :class:`StorageError`."""
    model = store.model_for(address)
    try:
        view = store.get(address, version=version, include_deleted=True)
    except NotFoundError:
        if version:
            raise
        return Loaded(address, model, 0, {}, {}, False, None, None)
    history = store.history(address, limit=1)
    source = history[-1].source if history and history[-1].version == view.version else None
    complete = {} if view.deleted else view.value
    return Loaded(address, model, view.version, view.stored, complete, view.deleted, view, source)


def raw_text(store: ConfigStore, address: Address, stored: dict[str, Any]) -> str:
    """The stored value as indented JSON for the raw mode, secrets as ``********``."""
    shown = store.redacted(stored, address.environment, address.area)
    return json.dumps(shown, indent=2, ensure_ascii=False)


def posted_value(
    model: type[AreaModel], form: FormFields, previous: dict[str, Any], limits: ValueLimits
) -> tuple[dict[str, Any], list[FieldError]]:
    """The value a posted editor stands for (raw mode: the JSON of field ``raw``) and
    the errors of reading it; a value beyond ``limits`` (the store's) is ``{}`` with
    their errors, since the page could not show it again. Never raises."""
    if form.get("mode") == "raw":
        value, errors = _raw_value(form.get(RAW_FIELD) or "")
    else:
        fields = {name: form.getlist(name) for name in form if name not in CONTROL_FIELDS}
        value, errors = value_from_form(model, fields, previous)
    beyond = limits.errors(value)  # a walk without recursion: any depth is safe here
    return ({}, errors + beyond) if beyond else (value, errors)


def _raw_value(text: str) -> tuple[dict[str, Any], list[FieldError]]:
    """The JSON object of the raw mode, read as strictly as an API request's body."""
    problem = strict_json_problem(text.encode("utf-8", "surrogatepass"))
    if problem is not None:
        return {}, [FieldError(RAW_FIELD, problem.removeprefix("the request body is "))]
    value = json.loads(text)
    if not isinstance(value, dict):
        return {}, [FieldError(RAW_FIELD, "must be a JSON object")]
    return value, []


@dataclass(frozen=True)
class Checked:
    """A value as the store would record it (``stored``, secrets sealed) and as a read
    would serve it (``complete``, secrets sealed)."""

    stored: dict[str, Any]
    complete: dict[str, Any]


def checked(
    store: ConfigStore,
    address: Address,
    value: dict[str, Any],
    previous: dict[str, Any] | None,
    *,
    may_reveal: bool,
) -> Checked:
    """``value`` checked and sealed by the set command's own rule (the domain's
    ``sealed_value``) before anything is appended (``previous``: the stored value it
    would replace). Raises :class:`InvalidValueError` naming each bad field, or
    :class:`SecretKeyError`."""
    rules = store.decision_rules(address)
    sparse = sealed_value(rules, address, value, previous, may_reveal)
    state = EntryState(address.area, address.key, 0, 0, sparse, False)
    complete = store.serving.entry(address.environment, state, complete=True, redacted=False)
    return Checked(sparse, complete)


def change_rows(
    store: ConfigStore, address: Address, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> list[DiffRow]:
    """Rows from ``old`` to ``new`` (sealed values; ``None``: no value), secrets shown as
    ``********``, those whose sealed text differs marked changed."""
    schema = store.secret_schema(address.environment, address.area)
    secrets = changed_secret_paths(old or {}, new or {}, schema)
    env, area = address.environment, address.area
    left = store.redacted(old, env, area) if old is not None else {}
    right = store.redacted(new, env, area) if new is not None else {}
    return side_by_side(left, right, changed_secrets=secrets)


def typed_secrets(fields: list[FormField], form: FormFields) -> frozenset[str]:
    """The names of the secret inputs of ``fields`` that ``form`` posted text in."""
    return frozenset(
        field.name
        for field in walk(fields)
        if field.kind == "secret" and any(text for text in form.getlist(field.name))
    )


def raw_without_typed(
    model: type[AreaModel], value: dict[str, Any]
) -> tuple[str | None, frozenset[str]]:
    """The raw mode's posted ``value`` as indented JSON with each secret the user typed
    (any text but ``********``, which keeps the stored one) emptied, and the dotted
    paths of those secrets; ``(None, {})`` when it typed none."""
    typed = [p for p in secret_paths_in(model, value) if _item(value, p) != REDACTED]
    if not typed:
        return None, frozenset()
    shown = json.loads(json.dumps(value))  # a copy to empty the secrets in
    for path in typed:
        parent = _item(shown, path[:-1])
        parent[path[-1]] = ""
    return json.dumps(shown, indent=2, ensure_ascii=False), frozenset(
        ".".join(str(part) for part in path) for path in typed
    )


def holds_typed_secret(model: type[AreaModel], text: str) -> bool:
    """Whether raw JSON that cannot be read may hold a secret the user typed: a member
    named as a secret field of ``model`` whose string is anything but ``********``
    (an unterminated one included). Errs on the side of yes."""
    names = _secret_names(model)
    if not names:
        return False
    members = "|".join(re.escape(name) for name in sorted(names))
    return re.search(rf'"(?:{members})"\s*:\s*"(?!\*{{8}}")', text) is not None


def _secret_names(model: type[AreaModel]) -> set[str]:
    """The names of the secret fields of ``model``, at any depth (``api_key``)."""
    names, stack = set(), list(form_fields(model, {}, {}))
    while stack:
        item = stack.pop()
        if item.kind == "secret":
            names.add(item.name.rsplit(".", 1)[-1])
        stack.extend(item.children)
        if item.template is not None:
            stack.append(item.template)
    return names


def _item(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def field_errors_of(exc: InvalidValueError) -> list[FieldError]:
    """The field errors of a refusal (one general error when it names none)."""
    return exc.errors or [FieldError("", str(exc))]


#: The editor's "apply at" input (the time a scheduled edit is applied at).
APPLY_AT = "apply_at"


def apply_time(text: str) -> datetime:
    """The "apply at" time of a form (``2026-01-31T12:00``, UTC unless it has an
    offset). Raises :class:`InvalidValueError` naming ``apply_at``."""
    if not text.strip():
        raise InvalidValueError.single(APPLY_AT, "give the time to apply the change at")
    try:
        return parse_time(text.strip(), name=APPLY_AT)
    except MalformedInputError as exc:
        raise InvalidValueError.single(APPLY_AT, exc.problem) from None
