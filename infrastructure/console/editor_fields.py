"""Form fields of the entry editor as the page renders them: element ids, the user's
posted text put back after a refusal, a group's new item numbered, errors by field.
Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from domain.errors import FieldError
from infrastructure.console.forms import INDEX_PLACEHOLDER, FormField
from infrastructure.console.security import FormFields

_NOT_ID = re.compile(r"[^A-Za-z0-9_]")
_TEXT_KINDS = frozenset({"text", "integer", "number", "select", "json", "list"})
_TRUE = frozenset({"on", "true", "1", "yes"})


def dom_id(name: str, prefix: str = "f") -> str:
    """An element id for the field ``name`` (``keys.0.api_key`` -> ``f-keys-0-api_key``)."""
    return f"{prefix}-{_NOT_ID.sub('-', name)}"


def walk(fields: Iterable[FormField]) -> Iterator[FormField]:
    """Every field, its children and groups' items included (not templates)."""
    for field in fields:
        yield field
        yield from walk(field.children)


def with_posted(fields: Iterable[FormField], form: FormFields) -> list[FormField]:
    """``fields`` showing what the user posted (the text of a number that did not
    parse, a toggle's state), so a refused form keeps its input. Secrets stay empty:
    their text is never sent back."""
    return [_posted(field, form) for field in fields]


def _posted(field: FormField, form: FormFields) -> FormField:
    if field.children:
        field = replace(field, children=tuple(_posted(c, form) for c in field.children))
    if field.kind in _TEXT_KINDS and field.name in form:
        text = form.getlist(field.name)[-1]
        values = tuple(line for line in text.splitlines() if line.strip())
        return replace(field, value=text, values=values if field.kind == "list" else ())
    if field.kind == "toggle":
        posted = form.get(field.name, "").strip().lower() in _TRUE
        return replace(field, value="true" if posted else "false")
    return field


def numbered(template: FormField, group: str, index: int) -> FormField:
    """A group's new-item ``template`` with its index placeholder replaced by ``index``
    (only the group's own placeholder: a nested group's template keeps its own)."""
    old, new = f"{group}.{INDEX_PLACEHOLDER}", f"{group}.{index}"

    def renamed(field: FormField) -> FormField:
        name = new + field.name[len(old) :] if field.name.startswith(old) else field.name
        template = renamed(field.template) if field.template is not None else None
        children = tuple(renamed(child) for child in field.children)
        return replace(field, name=name, children=children, template=template)

    return replace(renamed(template), label=f"{template.label} ({index + 1})")


def find_group(fields: Iterable[FormField], name: str) -> FormField | None:
    """The group field called ``name`` (with an add-item template), else ``None``."""
    for field in walk(fields):
        if field.name == name and field.kind == "group" and field.template is not None:
            return field
    return None


def errors_by_field(
    errors: Iterable[FieldError],
    fields: Iterable[FormField],
    *,
    fallback: str | None = None,
    known: Iterable[str] = (),
) -> dict[str, list[str]]:
    """Messages by the field they belong next to: the field itself, else the nearest
    enclosing field shown (``keys.0`` for a rule about a whole key), else ``fallback``
    (the raw JSON box) or ``""`` (the summary only). ``known``: other inputs of the page."""
    names = {field.name for field in walk(fields)} | set(known)
    found: dict[str, list[str]] = {}
    for error in errors:
        place = _nearest(error.field, names)
        if place is None:
            place = fallback or ""
        found.setdefault(place, []).append(str(error) if place != error.field else error.message)
    return found


def _nearest(name: str, names: set[str]) -> str | None:
    parts = name.split(".") if name else []
    while parts:
        candidate = ".".join(parts)
        if candidate in names:
            return candidate
        parts.pop()
    return None
