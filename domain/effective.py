"""Precedence per field: environment variables > store > schema defaults.

A variable ``CONDUIT__ROUTER__MAX_RETRIES=5`` overrides a field of a singleton area,
``CONDUIT__CACHE__EMBEDDINGS__ENABLED=false`` one of a keyed area's entry (area, key,
field; further ``__`` parts reach nested fields). Values are JSON where they parse as
JSON, else plain strings. Pure: the caller passes the variables in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from domain.areas.base import SINGLETON_KEY, AreaModel
from domain.areas.registry import AreaRegistry
from domain.errors import FieldError, InvalidValueError, SettingsError
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.values import JsonObject, to_json, validate

OVERRIDE_PREFIX = "CONDUIT__"
Source = Literal["env", "store", "default"]


@dataclass(frozen=True)
class Override:
    """One environment variable's value for one field of one entry."""

    variable: str
    area: str
    key: str
    path: tuple[str, ...]
    value: Any


@dataclass(frozen=True)
class Effective:
    """A value after precedence, and where each field came from."""

    value: AreaModel
    sources: dict[str, Source]


def _parse_value(text: str) -> Any:
    """JSON when the text is JSON, else the text itself (``NaN`` and ``Infinity`` are not
    JSON: they stay text, so a string field can hold them)."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return text


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def parse_overrides(
    environ: Mapping[str, str], registry: AreaRegistry, keys: Mapping[str, Iterable[str]]
) -> list[Override]:
    """The overrides among ``environ``; ``keys`` are the stored keys per area (a variable's
    key matches one of them case-insensitively). Raises :class:`SettingsError` naming
    each variable that names no area or no field."""
    overrides, problems = [], []
    for variable, text in sorted(environ.items()):
        if not variable.startswith(OVERRIDE_PREFIX):
            continue
        parts = variable[len(OVERRIDE_PREFIX) :].split("__")
        area = parts[0].lower()
        if area not in registry or "" in parts:
            problems.append(f"{variable}: no area {area!r} (or an empty part)")
            continue
        model = registry.get(area)
        key, path = SINGLETON_KEY, parts[1:]
        if not model.singleton and path:
            key, path = _match_key(path[0], keys.get(area, ())), path[1:]
        if not path or path[0].lower() not in model.model_fields:
            problems.append(f"{variable}: {area} has no field {'.'.join(path).lower()!r}")
            continue
        field_path = tuple(p.lower() for p in path)
        overrides.append(Override(variable, area, key, field_path, _parse_value(text)))
    if problems:
        raise SettingsError("invalid configuration overrides: " + "; ".join(problems))
    return overrides


def _match_key(part: str, stored: Iterable[str]) -> str:
    return next((k for k in stored if k.lower() == part.lower()), part.lower())


def _with(value: JsonObject, path: tuple[str, ...], new: Any) -> JsonObject:
    result = dict(value)
    head, rest = path[0], path[1:]
    inner = result.get(head)
    result[head] = _with(inner if isinstance(inner, dict) else {}, rest, new) if rest else new
    return result


def _blamed(overrides: list[Override], errors: Iterable[FieldError]) -> list[Override]:
    """The overrides of the fields the errors are about."""

    def related(path: str, field: str) -> bool:
        return path == field or field.startswith(path + ".") or path.startswith(field + ".")

    fields = [e.field for e in errors]
    return [o for o in overrides if any(related(".".join(o.path), f) for f in fields)]


def effective(
    model: type[AreaModel],
    key: str,
    stored: JsonObject,
    overrides: Iterable[Override],
    *,
    limits: ValueLimits = DEFAULT_LIMITS,
) -> Effective:
    """The value with ``overrides`` on top of ``stored`` on top of the defaults, kept
    within ``limits``.

    Raises :class:`SettingsError` naming the variables when the result is invalid (those
    of the fields at fault, else all of the entry's), or the :class:`InvalidValueError` of
    the stored value when it is invalid by itself and no override touches the bad fields.
    """
    mine = [o for o in overrides if o.area == model.area_name and o.key == key]
    merged = stored
    for override in mine:
        merged = _with(merged, override.path, override.value)
    try:
        instance = validate(model, merged, key=key, limits=limits)
    except InvalidValueError as exc:
        if not mine:
            raise
        blamed = _blamed(mine, exc.errors)
        if not blamed:  # no error is about an overridden field
            if stored:  # raises when the stored value is the problem
                validate(model, stored, key=key, limits=limits)
            blamed = mine  # else they clash with it, or define too little of a new entry
        names = ", ".join(o.variable for o in blamed)
        raise SettingsError(f"{names}: {'; '.join(str(e) for e in exc.errors)}") from None
    sources: dict[str, Source] = {}
    for name in to_json(instance, sparse=False):
        sources[name] = "store" if name in stored else "default"
    for override in mine:
        sources[".".join(override.path)] = "env"
    return Effective(instance, sources)
