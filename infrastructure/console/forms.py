"""The entry editor's form, generated from an area's model. Pure: no I/O, no web framework.

:func:`form_fields` describes the inputs of an entry (names are dotted paths such as
``keys.0.api_key``); :func:`value_from_form` (in :mod:`infrastructure.console.form_parse`)
turns what the browser posts back into the sparse stored value the store takes.

Secrets never leave the server: a secret field carries only whether a secret is stored
(``secret_set``), never its text, and any free-form (``json``) field is shown with the
secrets inside it as ``********``, which the store reads as "keep the stored secret".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel

from domain.areas.base import AreaModel
from domain.secret_schema import Path, secret_paths_below, secret_paths_in
from domain.secret_views import redact
from domain.values import json_equal
from infrastructure.console.form_parse import value_from_form
from infrastructure.console.form_shape import (
    INDEX_PLACEHOLDER,
    NO_DEFAULT,
    REMOVE_MARK,
    RESET_MARK,
    Bounds,
    Kind,
    Shape,
    Spec,
    as_text,
    specs,
)

__all__ = [
    "INDEX_PLACEHOLDER",
    "REMOVE_MARK",
    "RESET_MARK",
    "Bounds",
    "FormField",
    "Kind",
    "Option",
    "Origin",
    "form_fields",
    "value_from_form",
]

#: ``stored``: the entry stores this field; ``default``: it falls back to the schema's
#: default; ``unset``: neither (a required field of a new entry).
Origin = Literal["stored", "default", "unset"]


@dataclass(frozen=True)
class Option:
    """One choice of a select: ``value`` is what the browser posts, ``label`` what it shows."""

    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One input (or group of inputs) of the entry editor.

    ``name`` is the dotted path the input posts under. ``value`` is the input's text:
    ``"true"``/``"false"`` for a toggle, one item a line for a ``list``, indented JSON
    for ``json``, always ``""`` for a ``secret``. ``values`` holds a ``list``'s items.
    ``default`` is the default's text (``None``: no default, or not a single input).
    ``children`` are an ``object``'s fields or a ``group``'s items (each an ``object``
    named ``keys.0``); ``template`` is a group's empty new item, named with
    :data:`INDEX_PLACEHOLDER` in place of its index. A nullable select needs an empty
    option (unset); ``item_kind``/``item_bounds`` describe a ``list``'s items.
    """

    name: str
    label: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    description: str = ""
    value: str = ""
    values: tuple[str, ...] = ()
    origin: Origin = "unset"
    default: str | None = None
    secret_set: bool = False
    options: tuple[Option, ...] = ()
    bounds: Bounds = field(default_factory=Bounds)
    item_kind: Kind | None = None
    item_bounds: Bounds | None = None
    children: tuple[FormField, ...] = ()
    template: FormField | None = None


@dataclass(frozen=True)
class _Render:
    root: type[AreaModel]
    secrets: frozenset[Path]  # the secret places that hold a stored secret

    def is_secret(self, path: Path) -> bool:
        return secret_paths_below(self.root, path, "") == [()]


def form_fields(
    model: type[AreaModel], stored: dict[str, Any], complete: dict[str, Any]
) -> list[FormField]:
    """The form of an entry of ``model``: ``stored`` is its sparse stored value (secrets
    sealed or ``********``; ``{}`` for a new entry), ``complete`` the value with defaults
    filled in (``{}`` when it does not validate). Never raises on values that do not fit
    the schema: what cannot be shown as its kind is shown as text."""
    stored = stored if isinstance(stored, dict) else {}
    complete = complete if isinstance(complete, dict) else {}
    render = _Render(model, frozenset(secret_paths_in(model, stored)))
    shown_stored, shown_complete = redact(stored, model), redact(complete, model)
    return list(_fields(render, model, "", (), stored=shown_stored, shown=shown_complete))


def _fields(
    render: _Render, model: type[BaseModel], prefix: str, path: Path, *, stored: Any, shown: Any
) -> tuple[FormField, ...]:
    stored = stored if isinstance(stored, dict) else {}
    shown = shown if isinstance(shown, dict) else {}
    return tuple(
        _field(
            render, spec, f"{prefix}{spec.name}", (*path, spec.name), stored=stored, complete=shown
        )
        for spec in specs(model)
    )


def _field(
    render: _Render, spec: Spec, name: str, path: Path, *, stored: dict[str, Any], complete: Any
) -> FormField:
    shape = spec.shape
    shown = _shown(spec, stored, complete)
    base = _base(spec, name, stored)
    if render.is_secret(path):
        return replace(base, kind="secret", default=None, secret_set=path in render.secrets)
    inner = stored.get(spec.name)
    if shape.kind == "object" and shape.model is not None:
        return replace(
            base, children=_fields(render, shape.model, f"{name}.", path, stored=inner, shown=shown)
        )
    if shape.kind == "group":
        return _group(render, base, shape, path, stored=inner, shown=shown)
    if shape.kind == "list":
        values = tuple(as_text(item) for item in shown) if isinstance(shown, list) else ()
        item = shape.item
        return replace(
            base,
            value="\n".join(values),
            values=values,
            item_kind=item.kind if item else None,
            item_bounds=item.bounds if item else None,
        )
    return replace(base, value=_value_text(shape, shown))


def _base(spec: Spec, name: str, stored: dict[str, Any]) -> FormField:
    """What every kind of field says: name, label, kind, bounds, origin, default."""
    shape = spec.shape
    return FormField(
        name=name,
        label=spec.label,
        kind=shape.kind,
        required=spec.required,
        nullable=shape.nullable,
        description=spec.description,
        origin="stored" if spec.name in stored else "default" if not spec.required else "unset",
        default=_default_text(spec),
        options=tuple(Option(text, text) for text, _ in shape.options),
        bounds=shape.bounds,
    )


def _group(
    render: _Render, base: FormField, shape: Shape, path: Path, *, stored: Any, shown: Any
) -> FormField:
    """A list of objects: one ``object`` child per item, and a template for a new one."""
    model = shape.model
    if model is None:
        return base
    stored_items = stored if isinstance(stored, list) else []
    shown_items = shown if isinstance(shown, list) else []
    items = []
    for index, item in enumerate(shown_items):
        kept = stored_items[index] if index < len(stored_items) else {}
        name = f"{base.name}.{index}"
        children = _fields(render, model, f"{name}.", (*path, index), stored=kept, shown=item)
        origin: Origin = "stored" if index < len(stored_items) else "default"
        label = f"{base.label} {index + 1}"
        items.append(FormField(name, label, "object", origin=origin, children=children))
    blank = replace(render, secrets=frozenset())  # a new item holds no stored secret
    new = f"{base.name}.{INDEX_PLACEHOLDER}"
    template_children = _fields(blank, model, f"{new}.", (*path, 0), stored={}, shown={})
    template = FormField(
        new, f"New {base.label.lower()} item", "object", children=template_children
    )
    return replace(base, children=tuple(items), template=template)


def _shown(spec: Spec, stored: dict[str, Any], complete: Any) -> Any:
    """What a field holds: the complete value's, else the stored one, else its default."""
    if isinstance(complete, dict) and spec.name in complete:
        return complete[spec.name]
    if spec.name in stored:
        return stored[spec.name]
    return None if spec.default is NO_DEFAULT else spec.default


def _value_text(shape: Shape, shown: Any) -> str:
    if shown is None:
        return ""
    if shape.kind == "select":
        for text, option in shape.options:
            if json_equal(option, shown):
                return text
    if shape.kind == "toggle" and isinstance(shown, bool):
        return "true" if shown else "false"
    if shape.kind == "json":
        return json.dumps(shown, indent=2, ensure_ascii=False)
    return as_text(shown)


def _default_text(spec: Spec) -> str | None:
    if spec.default is NO_DEFAULT or spec.shape.kind in ("object", "group"):
        return None
    if spec.shape.kind == "list" and isinstance(spec.default, list):
        return "\n".join(as_text(item) for item in spec.default)
    return _value_text(spec.shape, spec.default)
