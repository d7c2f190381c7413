"""A posted entry form back into the sparse stored value the store takes. Pure.

Only parsing happens here (a number that is not one, JSON that does not parse, an
option that is not offered, a list index out of range): each such problem is a
:class:`FieldError` naming the dotted field. Whether the value is valid is the store's
own validation, so that the console reports exactly what the API would.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from domain.errors import FieldError
from domain.parsing import MalformedInputError, is_whole_number, whole_number
from domain.secret_schema import Path, secret_paths_below
from domain.secrets import REDACTED, is_sealed
from domain.values import json_equal
from infrastructure.console.form_shape import (
    NO_DEFAULT,
    REMOVE_MARK,
    RESET_MARK,
    Shape,
    Spec,
    specs,
)

Form = Mapping[str, str | list[str]]

#: Highest item index a group accepts in a field name (``keys.9999.name``).
MAX_INDEX = 9999
_MAX_NUMBER_TEXT = 400
_MAX_NESTING = 64
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_TRUE = frozenset({"on", "true", "1", "yes"})
_FALSE = frozenset({"", "off", "false", "0", "no"})
_MOVED = "type the secret again: its item moved, so the stored secret cannot be kept"


class _Omit(enum.Enum):
    OMIT = enum.auto()


_OMIT = _Omit.OMIT  # the field stays out of the stored value


@dataclass
class _Keep:
    """A secret left empty: keeps what ``previous`` (the stored text) holds."""

    name: str
    previous: str
    moved: bool = False


@dataclass
class _Parse:
    root: type[BaseModel]
    form: Form
    errors: list[FieldError] = field(default_factory=list)
    keeps: list[tuple[dict[str, Any], str, _Keep]] = field(default_factory=list)

    def text(self, name: str) -> str | None:
        """The posted text of ``name`` (the last one when posted several times)."""
        raw = self.form.get(name)
        if isinstance(raw, list):
            raw = next((item for item in reversed(raw) if isinstance(item, str)), None)
        return raw if isinstance(raw, str) else None

    def flag(self, name: str) -> bool:
        raw = self.text(name)
        return raw is not None and raw.strip().lower() not in _FALSE

    def fail(self, name: str, message: str) -> _Omit:
        self.errors.append(FieldError(name, message))
        return _OMIT


def value_from_form(
    model: type[BaseModel], form: Form, previous_stored: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The sparse value a posted form of :func:`~infrastructure.console.forms.form_fields`
    stands for, and the parse errors (when there are any, do not save the value).

    A field stays when ``previous_stored`` has it or its value differs from the default;
    an emptied optional field (or one posted with ``.__reset__``) is dropped; an
    unchecked toggle (absent) is false; a secret left empty keeps the stored one
    (``********``). Names the model does not know are ignored. Never raises."""
    parse = _Parse(model, form)
    previous = previous_stored if isinstance(previous_stored, dict) else {}
    value = _object(parse, model, "", (), previous)
    for container, name, keep in parse.keeps:
        if not keep.moved:
            container[name] = REDACTED
        elif is_sealed(keep.previous):  # the sealed text itself follows the item
            container[name] = keep.previous
        else:
            del container[name]
            parse.fail(keep.name, _MOVED)
    return value, parse.errors


def _object(
    parse: _Parse, model: type[BaseModel], prefix: str, path: Path, previous: Any
) -> dict[str, Any]:
    previous = previous if isinstance(previous, dict) else {}
    result: dict[str, Any] = {}
    for spec in specs(model):
        name = f"{prefix}{spec.name}"
        if parse.flag(f"{name}.{RESET_MARK}"):
            continue
        before = previous.get(spec.name, _OMIT)
        got = _member(parse, spec.shape, name, (*path, spec.name), before)
        if got is _OMIT or not _kept(got, before, spec):
            continue
        result[spec.name] = got
        if isinstance(got, _Keep):
            parse.keeps.append((result, spec.name, got))
    return result


def _kept(got: Any, before: Any, spec: Spec) -> bool:
    """Whether a field belongs in the sparse value: stored before, or not its default."""
    if before is not _OMIT or spec.default is NO_DEFAULT:
        return True
    return not json_equal(got, spec.default)


def _member(parse: _Parse, shape: Shape, name: str, path: Path, before: Any) -> Any:
    if secret_paths_below(parse.root, path, "") == [()]:
        given = parse.text(name)
        if given and given != REDACTED:  # typed ******** means "keep" too
            return given
        return _Keep(name, before) if isinstance(before, str) else _OMIT
    if shape.kind in ("object", "group", "list", "toggle"):
        return _structured(parse, shape, name, path, before)
    text = parse.text(name)
    # Not posted at all: left as it was.
    return before if text is None else _scalar(parse, shape, name, text)


def _structured(parse: _Parse, shape: Shape, name: str, path: Path, before: Any) -> Any:
    if shape.kind == "toggle":
        return _toggle(parse, name)
    if shape.kind == "list":
        return _list(parse, shape, name, before)
    if len(path) > _MAX_NESTING or shape.model is None:  # a model that contains itself
        return parse.fail(name, "is nested too deeply")
    if shape.kind == "group":
        return _group(parse, shape.model, name, path, before)
    inner = _object(parse, shape.model, f"{name}.", path, before)
    return inner if inner or before == {} else _OMIT


def _scalar(parse: _Parse, shape: Shape, name: str, text: str) -> Any:
    if text == "" and (shape.kind != "text" or shape.nullable):
        return _OMIT
    if shape.kind == "integer":
        return _integer(parse, name, text)
    if shape.kind == "number":
        return _number(parse, name, text)
    if shape.kind == "select":
        found = [value for option, value in shape.options if option == text]
        return found[0] if found else parse.fail(name, "is not one of the options")
    if shape.kind == "json":
        return _json(parse, name, text)
    return text


def _integer(parse: _Parse, name: str, text: str) -> Any:
    digits = text.removeprefix("-")
    if not is_whole_number(digits):  # a message of our own: the input is not echoed
        return parse.fail(name, "is not a whole number (digits 0-9, e.g. 3 or -3)")
    try:
        number = whole_number(digits, name=name)
    except MalformedInputError as exc:
        return parse.fail(name, exc.problem)
    return -number if digits != text else number


def _number(parse: _Parse, name: str, text: str) -> Any:
    if len(text) > _MAX_NUMBER_TEXT or not _NUMBER.fullmatch(text):
        return parse.fail(name, "is not a number (digits 0-9, e.g. 2, 0.5 or 1e-3)")
    number = float(text)
    if not math.isfinite(number):
        return parse.fail(name, "is too large")
    return number


def _json(parse: _Parse, name: str, text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return parse.fail(name, "is not valid JSON")


def _no_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _toggle(parse: _Parse, name: str) -> Any:
    text = parse.text(name)
    answer = (text or "").strip().lower()
    if answer in _TRUE:
        return True
    if answer in _FALSE:
        return False
    return parse.fail(name, "must be checked or not")


def _list(parse: _Parse, shape: Shape, name: str, before: Any) -> Any:
    """A list of scalars: several inputs with the same name, or one item a line."""
    raw = parse.form.get(name)
    if raw is None:
        return before
    lines = raw if isinstance(raw, list) else raw.splitlines() if isinstance(raw, str) else []
    texts = [line.strip() for line in lines if isinstance(line, str) and line.strip()]
    item = shape.item or Shape("text")
    values = [_scalar(parse, item, f"{name}.{index}", text) for index, text in enumerate(texts)]
    return [value for value in values if value is not _OMIT]


def _group(parse: _Parse, model: type[BaseModel], name: str, path: Path, before: Any) -> Any:
    """A list of objects, its items posted as ``name.<index>.<field>``; an item posted
    with ``name.<index>.__remove__`` is dropped; the rest keep their order."""
    previous = before if isinstance(before, list) else []
    items: list[dict[str, Any]] = []
    for index in _indices(parse, name):
        if parse.flag(f"{name}.{index}.{REMOVE_MARK}"):
            continue
        old = previous[index] if index < len(previous) else None
        first_keep = len(parse.keeps)
        item = _object(parse, model, f"{name}.{index}.", (*path, index), old)
        if not _same_place(item, old, index, len(items)):
            for _, _, keep in parse.keeps[first_keep:]:
                keep.moved = True
        items.append(item)
    return items


def _same_place(item: dict[str, Any], old: Any, index: int, position: int) -> bool:
    """Whether the store will find ``old``'s secrets for ``item``: it matches list items
    by ``name`` when they have one, else by position."""
    if not isinstance(old, dict):
        return True
    if item.get("name") is not None:
        return bool(json_equal(item.get("name"), old.get("name")))
    return index == position


def _indices(parse: _Parse, name: str) -> list[int]:
    """The item indices posted for group ``name``, in order. Other names under it (the
    template's placeholder, marks) are ignored; an index beyond :data:`MAX_INDEX` is an
    error."""
    prefix = f"{name}."
    found: set[int] = set()
    bad: set[str] = set()
    for key in parse.form:
        if not (isinstance(key, str) and key.startswith(prefix)):
            continue
        part = key[len(prefix) :].partition(".")[0]
        if not (part.isascii() and _INDEX.fullmatch(part)):
            continue
        if len(part) > len(str(MAX_INDEX)) or int(part) > MAX_INDEX:
            bad.add(part[:20])
        else:
            found.add(int(part))
    for part in sorted(bad):
        parse.fail(f"{prefix}{part}", f"no such item (an index is 0 to {MAX_INDEX})")
    return sorted(found)
