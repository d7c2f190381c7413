"""Where a stored value's secrets are, read from its area's schema (no validation).

A stored value is sparse JSON that may not validate any more (older schema, lowered
limits), so the walk follows the model's annotations alongside the value instead of
building a model instance: a string sits at a secret path when the annotation at that
place is ``SecretStr``. Unions (``Optional`` included) count a place as secret when any
of their members does. Nothing here looks at what a string says: a non-secret field
may hold ``enc:v1:…`` text and is never taken for a secret.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

Path = tuple[str | int, ...]

_LISTS = (list, set, frozenset, Sequence, Iterable)
_MAPPINGS = (dict, Mapping)


def secret_paths_in(model: type[BaseModel], value: Any) -> list[Path]:
    """Paths of the strings of ``value`` (a stored value of ``model``, not validated)
    that the schema makes secret, in document order. Members the model does not know
    are skipped; never raises on a value that does not fit."""
    if not has_secret_fields(model):
        return []
    return _unique(_walk(model, value, ()))


def secret_paths_below(model: type[BaseModel], pointer: Path, value: Any) -> list[Path]:
    """Like :func:`secret_paths_in` for ``value`` placed at ``pointer`` (the path of an
    RFC 6902 operation, as parts) inside a value of ``model``; paths relative to it."""
    if not has_secret_fields(model):
        return []
    places: list[Any] = [model]
    for part in pointer:
        places = [child for place in places for child in _children(place, part)]
    return _unique(path for place in places for path in _walk(place, value, ()))


def has_secret_fields(model: type[BaseModel]) -> bool:
    """Whether a model's fields can hold a ``SecretStr`` anywhere inside them."""
    known = _SECRETIVE.get(model)
    if known is None:
        known = _mentions(model, set())
        _SECRETIVE[model] = known
    return known


_SECRETIVE: dict[type[BaseModel], bool] = {}


def _mentions(annotation: Any, visiting: set[type[BaseModel]]) -> bool:
    # ``visiting`` stops a model that refers to itself from recursing forever.
    if _is_secret(annotation):
        return True
    if _is_model(annotation):
        if annotation in visiting:
            return False
        visiting.add(annotation)
        fields = annotation.model_fields.values()
        return any(_mentions(f.annotation, visiting) for f in fields)
    return any(_mentions(arg, visiting) for arg in get_args(annotation))


def _is_secret(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, SecretStr)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> tuple[Any, ...] | None:
    """The members of a union annotation, or ``None`` for any other annotation."""
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return None


def _walk(annotation: Any, value: Any, path: Path) -> Iterator[Path]:
    annotation = _strip(annotation)
    members = _members(annotation)
    if members is not None:
        for member in members:
            yield from _walk(member, value, path)
    elif _is_secret(annotation):
        if isinstance(value, str):
            yield path
    elif _is_model(annotation):
        if isinstance(value, dict):
            for name, field in annotation.model_fields.items():
                if name in value:
                    yield from _walk(field.annotation, value[name], (*path, name))
    else:
        yield from _walk_container(annotation, value, path)


def _walk_container(annotation: Any, value: Any, path: Path) -> Iterator[Path]:
    """A list's items by the annotation's item type, a mapping's values by its value
    type; anything else holds no secret."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            item_type = _item_type(annotation, index)
            if item_type is not None:
                yield from _walk(item_type, item, (*path, index))
    elif isinstance(value, dict):
        value_type = _value_type(annotation)
        if value_type is not None:
            for name, item in value.items():
                yield from _walk(value_type, item, (*path, name))


def _item_type(annotation: Any, index: int) -> Any:
    """The annotation of item ``index`` of a list-like annotation (``None``: not one)."""
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[index] if index < len(args) else None
    listlike = isinstance(origin, type) and issubclass(origin, _LISTS)
    if listlike and not issubclass(origin, (*_MAPPINGS, str)) and args:
        return args[0]
    return None


def _value_type(annotation: Any) -> Any:
    """The annotation of a mapping annotation's values (``None``: not a mapping)."""
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if isinstance(origin, type) and issubclass(origin, _MAPPINGS) and len(args) == 2:
        return args[1]
    return None


def _children(annotation: Any, part: str | int) -> list[Any]:
    """The annotations that may sit at ``part`` below ``annotation``."""
    annotation = _strip(annotation)
    members = _members(annotation)
    if members is not None:
        return [child for member in members for child in _children(member, part)]
    if _is_model(annotation):
        field = annotation.model_fields.get(str(part))
        return [] if field is None else [field.annotation]
    value_type = _value_type(annotation)
    if value_type is not None:
        return [value_type]
    index = part if isinstance(part, int) else _index(part)
    item_type = _item_type(annotation, index) if index is not None else None
    if item_type is None and part == "-":  # RFC 6902: the end of a list
        item_type = _item_type(annotation, 0)
    return [] if item_type is None else [item_type]


def _index(part: str) -> int | None:
    return int(part) if part.isascii() and part.isdigit() else None


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
