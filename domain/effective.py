"""Precedence per field: overrides > store > schema defaults.

An override sets one field of one entry from outside the store (the client runtime reads
them from environment variables: ``infrastructure/client/overrides.py``). Pure: the
caller passes the parsed overrides in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from domain.areas.base import AreaModel
from domain.errors import FieldError, InvalidValueError, SettingsError
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.values import JsonObject, to_json, validate

Source = Literal["env", "store", "default"]


@dataclass(frozen=True)
class Override:
    """One value from outside the store for one field of one entry; ``variable`` is the
    name it was given by (errors name it)."""

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

    Raises :class:`SettingsError` naming the overrides' variables when the result is
    invalid (those of the fields at fault, else all of the entry's), or the
    :class:`InvalidValueError` of the stored value when it is invalid by itself and no
    override touches the bad fields.
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
