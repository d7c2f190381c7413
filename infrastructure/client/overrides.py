"""Environment variables as overrides: which variables count and what they name.

A variable ``CONDUIT__ROUTER__MAX_RETRIES=5`` overrides a field of a singleton area,
``CONDUIT__CACHE__EMBEDDINGS__ENABLED=false`` one of a keyed area's entry (area, key,
field; further ``__`` parts reach nested fields). Values are JSON where they parse as
JSON, else plain strings. The domain puts the parsed overrides on top of stored values
(:func:`domain.effective.effective`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from domain.areas.base import SINGLETON_KEY
from domain.areas.registry import AreaRegistry
from domain.effective import Override
from domain.errors import SettingsError

OVERRIDE_PREFIX = "CONDUIT__"


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
