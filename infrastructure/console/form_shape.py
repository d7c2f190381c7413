"""What kind of form input each field of an area's model needs, read from its annotations.

The walk follows the model's annotations (as :mod:`domain.secret_schema` does) rather
than its JSON schema, so a field keeps its Python meaning: ``Optional`` makes a field
nullable, ``Literal`` and ``Enum`` give a select's options, ``Annotated`` metadata and
``Field(ge=…, max_length=…)`` give the bounds. Whether a place is secret is never
decided here: :mod:`domain.secret_schema` does that by path.
"""

from __future__ import annotations

import enum
import json
import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo

Kind = Literal[
    "text", "integer", "number", "toggle", "select", "secret", "json", "object", "group", "list"
]
_JSONABLE: TypeAdapter[Any] = TypeAdapter(Any)

#: The index in the names of a group's "add item" template; the page puts a new index
#: (any number not used by the group's items yet) in its place.
INDEX_PLACEHOLDER = "__index__"
#: ``<item name>.__remove__`` posted (e.g. a checked box) drops that item of a group.
REMOVE_MARK = "__remove__"
#: ``<field name>.__reset__`` posted drops the field from the stored value: it falls back
#: to its default (an optional secret becomes unset).
RESET_MARK = "__reset__"
_SCALARS = ("text", "integer", "number", "select")
# bool before int: a bool is an int to issubclass.
_CLASSES: tuple[tuple[type, Kind], ...] = (
    (bool, "toggle"),
    (int, "integer"),
    (float, "number"),
    (dict, "json"),
    (list, "json"),
    (tuple, "json"),
    (set, "json"),
    (frozenset, "json"),
)


class NoDefault(enum.Enum):
    """Marks a required field: it has no default to fall back to."""

    MISSING = enum.auto()


NO_DEFAULT = NoDefault.MISSING


@dataclass(frozen=True)
class Bounds:
    """Limits of a field: numbers (``minimum`` is ``ge``, ``exclusive_minimum`` is
    ``gt``…), text length, or for a list its number of items; ``None`` when unbounded."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


_BOUND_ATTRS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusive_minimum",
    "lt": "exclusive_maximum",
    "min_length": "min_length",
    "max_length": "max_length",
    "pattern": "pattern",
}


@dataclass(frozen=True)
class Shape:
    """The input a value needs. ``options`` pairs each option's text with its value;
    ``model`` is the nested model of an object, or of a group's items; ``item`` the
    shape of a list's items."""

    kind: Kind
    nullable: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    model: type[BaseModel] | None = None
    item: Shape | None = None
    bounds: Bounds = field(default_factory=Bounds)


@dataclass(frozen=True)
class Spec:
    """One field of a model: its name, label, help text, default (as JSON) and shape."""

    name: str
    label: str
    description: str
    required: bool
    default: Any
    shape: Shape


@cache
def specs(model: type[BaseModel]) -> tuple[Spec, ...]:
    """The fields of ``model`` in declaration order (cached per model)."""
    return tuple(_spec(name, info) for name, info in model.model_fields.items())


def _spec(name: str, info: FieldInfo) -> Spec:
    required = info.is_required()
    default: Any = NO_DEFAULT
    if not required:
        try:
            raw = info.get_default(call_default_factory=True, validated_data={})
            default = _JSONABLE.dump_python(raw, mode="json")
        except (TypeError, ValueError):  # a default that has no JSON form: none to show
            default = NO_DEFAULT
    return Spec(
        name=name,
        label=info.title or name.replace("_", " ").capitalize(),
        description=info.description or "",
        required=required,
        default=default,
        shape=classify(info.annotation, info.metadata),
    )


def classify(annotation: Any, metadata: Iterable[Any] = ()) -> Shape:
    """The shape of a value of ``annotation``; ``metadata`` holds the field's constraints."""
    extra = list(metadata)
    while get_origin(annotation) is Annotated:
        annotation, *more = get_args(annotation)
        extra.extend(more)
    bounds = _bounds(extra)
    if get_origin(annotation) in (Union, types.UnionType):
        shape = _union(get_args(annotation))
    else:
        shape = _single(annotation)
    return replace(shape, bounds=_merged(shape.bounds, bounds))


def _union(members: Sequence[Any]) -> Shape:
    rest = [m for m in members if m is not type(None)]
    nullable = len(rest) < len(members)
    shapes = [classify(m) for m in rest]
    kinds = {s.kind for s in shapes}
    if len(shapes) == 1:
        shape = shapes[0]
    elif kinds == {"select"}:
        shape = Shape("select", options=tuple(o for s in shapes for o in s.options))
    elif kinds <= {"integer", "number"}:
        shape = Shape("number")
    elif kinds == {"text"}:
        shape = Shape("text")
    else:
        shape = Shape("json")
    if shape.kind == "toggle" and nullable:  # three states: unset, true, false
        shape = Shape("select", options=(("true", True), ("false", False)))
    return replace(shape, nullable=nullable or shape.nullable)


def _single(annotation: Any) -> Shape:
    origin = get_origin(annotation)
    if origin is Literal:
        return Shape("select", options=tuple((as_text(v), v) for v in get_args(annotation)))
    if origin is not None:
        return _container(origin, get_args(annotation))
    if not isinstance(annotation, type):
        return Shape("json")  # Any, JsonValue and other aliases: free-form
    return _of_class(annotation)


def _of_class(cls: type) -> Shape:
    if issubclass(cls, enum.Enum):
        return Shape("select", options=tuple((as_text(m.value), m.value) for m in cls))
    if issubclass(cls, BaseModel):
        # A model that contains itself would be a form without end: free-form JSON.
        return Shape("json") if _contains_itself(cls) else Shape("object", model=cls)
    for base, kind in _CLASSES:
        if issubclass(cls, base):
            return Shape(kind)
    return Shape("text")  # str, SecretStr, dates, URLs: typed as text, checked by the API


@cache
def _contains_itself(model: type[BaseModel]) -> bool:
    pending = [info.annotation for info in model.model_fields.values()]
    seen: set[type[BaseModel]] = set()
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation is model:
                return True
            if annotation not in seen:
                seen.add(annotation)
                pending.extend(info.annotation for info in annotation.model_fields.values())
        else:
            pending.extend(get_args(annotation))
    return False


def _container(origin: Any, args: tuple[Any, ...]) -> Shape:
    listlike = isinstance(origin, type) and issubclass(origin, list | tuple | set | frozenset)
    sequence = listlike or origin is Sequence
    homogeneous = origin is not tuple or (len(args) == 2 and args[1] is Ellipsis)
    if not (sequence and homogeneous and args):
        return Shape("json")
    item = classify(args[0])
    if item.kind == "object" and not item.nullable:
        return Shape("group", model=item.model)
    if item.kind in _SCALARS and not item.nullable:
        return Shape("list", item=item, options=item.options)
    return Shape("json")


def _bounds(metadata: Iterable[Any]) -> Bounds:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(vars(_bounds(item.metadata)))
            continue
        for attr, bound in _BOUND_ATTRS.items():
            value = getattr(item, attr, None)
            if isinstance(value, re.Pattern):
                value = value.pattern
            if _usable(bound, value):
                found[bound] = value
    return Bounds(**{k: v for k, v in found.items() if v is not None})


def _usable(bound: str, value: Any) -> bool:
    if bound == "pattern":
        return isinstance(value, str)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _merged(inner: Bounds, outer: Bounds) -> Bounds:
    """``outer`` (the field's own constraints) over ``inner`` (its type's)."""
    given = {k: v for k, v in vars(outer).items() if v is not None}
    return replace(inner, **given)


def as_text(value: Any) -> str:
    """A JSON value as the text of an input: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
