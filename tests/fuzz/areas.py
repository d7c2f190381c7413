"""Near-valid values of every area, from its JSON schema, with one hostile mutation.

``valid_values(model)`` draws values that follow the area's JSON schema (cross-field rules
may still refuse some); ``near_valid(model)`` takes one and changes one thing: a field's
value, a nested value, an unknown member, or the content of a free-form field, to hostile
JSON. ``confusable(value)`` changes one leaf to another JSON type that a type-blind
comparison calls equal (``true``/``1``/``1.0``). ``seed``/``with_value`` put one value into
a small valid value of an area, for corpus sweeps.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar

from hypothesis import strategies as st
from pydantic import Field

from domain.areas import BUILTIN_AREAS
from domain.areas.base import SINGLETON_KEY, AreaModel
from tests.fuzz.strategies import hostile_json, hostile_object, odd_keys

Schema = dict[str, Any]


class FreeFormConfig(AreaModel):
    """A user-registered area with loosely typed fields (``CONDUIT_CONFIG_AREAS``)."""

    area_name: ClassVar[str] = "fuzz_free"
    summary: ClassVar[str] = "Free-form JSON, as a user-defined area may hold"

    data: dict[str, Any] = Field(default_factory=dict, description="Anything.")
    items: list[Any] = Field(default_factory=list, description="Anything, in order.")
    label: str | None = Field(default=None, max_length=200, description="Free text.")


FREE_FORM_AREA = f"{__name__}:{FreeFormConfig.__name__}"
AREAS: tuple[type[AreaModel], ...] = (*BUILTIN_AREAS, FreeFormConfig)
_OFFSETS = st.sampled_from((UTC, timezone(timedelta(hours=-14)), timezone(timedelta(hours=5.5))))
_URLS = ("https://api.example.com/v1", "http://127.0.0.1:8080", "https://x.test")
# Fields whose rules the JSON schema does not state: valid examples to start from.
_HINTS = {
    "cidr": st.sampled_from(("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "::1", "1.2.3.4")),
}


# A small valid value of each area, to put one hostile value into.
SEEDS: dict[str, dict[str, Any]] = {
    "model_deployment": {"model_name": "m", "provider": "p"},
    "fallback": {"fallbacks": ["b"]},
    "provider": {"provider_type": "openai"},
    "model_mapping": {"provider": "p", "provider_model": "m"},
    "virtual_key": {"key_hash": "a" * 64},
    "model_cost": {"model_id_pattern": "m"},
    "ip_filter": {"filter_type": "allow", "cidr": "10.0.0.0/8"},
    "global_setting": {"value": "v"},
}


def seed(model: type[AreaModel]) -> dict[str, Any]:
    """A small valid value of the area."""
    return dict(SEEDS.get(model.area_name, {}))


def with_value(model: type[AreaModel], field: str, value: Any) -> dict[str, Any]:
    """The seed of the area with ``value`` in ``field`` (inside a member or an item when
    the field holds free-form objects or lists, so the schema lets it through)."""
    if field in free_form_fields(model):
        as_list = _schema(model)["properties"][field].get("type") == "array"
        value = [value] if as_list else {"x": value}
    return {**seed(model), field: value}


def key_for(model: type[AreaModel]) -> str:
    """An entry key of the area (singletons have one key)."""
    return SINGLETON_KEY if model.singleton else "fuzz-key"


def _resolve(schema: Schema, defs: Schema) -> Schema:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def is_free_form(schema: Schema, defs: Schema) -> bool:
    """A schema that admits any JSON (``Any``/``JsonValue``), or a container of it."""
    schema = _resolve(schema, defs)
    if not schema.keys() - {"title", "description", "default"}:
        return True
    inner = schema.get("additionalProperties", schema.get("items"))
    return inner is True or (isinstance(inner, dict) and is_free_form(inner, defs))


def _tame_json() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        st.floats(-1e6, 1e6, allow_nan=False),
        st.text(max_size=6),
    )
    return st.recursive(
        scalar,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
        max_leaves=6,
    )


def _string(schema: Schema) -> st.SearchStrategy[Any]:
    fmt = schema.get("format")
    if fmt == "date-time":
        moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=_OFFSETS)
        return moments.map(datetime.isoformat)
    if fmt == "date":
        return st.dates(date(2000, 1, 1), date(2100, 1, 1)).map(date.isoformat)
    if fmt == "uri":
        return st.sampled_from(_URLS)
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
    if "pattern" in schema:
        text = st.from_regex(schema["pattern"], fullmatch=True)
        return text.map(lambda s: s[:high]).filter(lambda s: low <= len(s))
    return st.text(min_size=low, max_size=max(low, min(high, 20)))


def _number(schema: Schema, integer: bool) -> st.SearchStrategy[Any]:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if integer:
        low = None if low is None else int(low) + ("exclusiveMinimum" in schema)
        return st.integers(low, high if high is not None else (low or 0) + 100_000)
    return st.floats(
        low,
        high if high is not None else 1e6,
        allow_nan=False,
        exclude_min="exclusiveMinimum" in schema,
        exclude_max="exclusiveMaximum" in schema,
    )


def from_schema(schema: Schema, defs: Schema) -> st.SearchStrategy[Any]:
    """Values following the subset of JSON schema that pydantic writes for areas."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    simple = {
        "boolean": st.booleans,
        "null": st.none,
        "string": lambda: _string(schema),
        "integer": lambda: _number(schema, True),
        "number": lambda: _number(schema, False),
    }
    if kind in simple:
        return simple[kind]()
    if kind == "array":
        low, high = schema.get("minItems", 0), schema.get("maxItems", 3)
        items = from_schema(schema.get("items", {}), defs)
        return st.lists(items, min_size=low, max_size=min(high, max(low, 3)), unique_by=repr)
    if kind == "object" and "properties" in schema:
        return _object(schema, defs)
    if kind == "object":
        extra = schema.get("additionalProperties", {})
        members = from_schema(extra if isinstance(extra, dict) else {}, defs)
        return st.dictionaries(st.text(max_size=8), members, max_size=3)
    return _tame_json()


def _object(schema: Schema, defs: Schema) -> st.SearchStrategy[dict[str, Any]]:
    required = set(schema.get("required", ()))
    members = {
        name: _HINTS[name] if name in _HINTS else from_schema(sub, defs)
        for name, sub in schema["properties"].items()
    }
    return st.fixed_dictionaries(
        {name: members[name] for name in members if name in required},
        optional={name: members[name] for name in members if name not in required},
    )


@functools.cache
def _schema(model: type[AreaModel]) -> Schema:
    return model.model_json_schema()


@functools.cache
def valid_values(model: type[AreaModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Values drawn from the area's JSON schema (cross-field rules may refuse some)."""
    schema = _schema(model)
    return _object(schema, schema.get("$defs", {}))


@functools.cache
def free_form_fields(model: type[AreaModel]) -> tuple[str, ...]:
    """Top-level fields that hold arbitrary JSON (where hostile content is accepted)."""
    schema = _schema(model)
    defs = schema.get("$defs", {})
    return tuple(
        name
        for name, sub in schema["properties"].items()
        if any(is_free_form(s, defs) for s in _resolve(sub, defs).get("anyOf", [sub]))
    )


def _paths(value: Any) -> list[tuple[Any, ...]]:
    """Every path (tuple of keys and indexes) to a member of ``value``, shallow ones first."""
    found: list[tuple[Any, ...]] = []
    pending: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while pending and len(found) < 200:
        path, here = pending.pop(0)
        members = here.items() if isinstance(here, dict) else enumerate(here)
        for name, member in members:
            found.append((*path, name))
            if isinstance(member, dict | list):
                pending.append(((*path, name), member))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` (copied along ``path`` only) with ``new`` at ``path``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replaced(value[head], rest, new)
    return copy


MUTATIONS = ("none", "field", "unknown", "nested", "free")


@st.composite
def near_valid(draw: st.DrawFn, model: type[AreaModel]) -> dict[str, Any]:
    """A value of the area's schema with (mostly) one hostile change: a field's value, a
    nested value, an unknown member, or the content of a free-form field."""
    value = draw(valid_values(model))
    how = draw(st.sampled_from(MUTATIONS))
    paths = _paths(value)
    free = free_form_fields(model)
    if how == "field":
        return {**value, draw(st.sampled_from(sorted(model.model_fields))): draw(hostile_json())}
    if how == "unknown":
        return {**value, draw(odd_keys()): draw(hostile_json())}
    if how == "nested" and paths:
        changed: dict[str, Any] = replaced(
            value, draw(st.sampled_from(paths)), draw(hostile_json())
        )
        return changed
    if how == "free" and free:
        field = draw(st.sampled_from(free))
        content = draw(hostile_object())
        as_list = _schema(model)["properties"][field].get("type") == "array"
        return {**value, field: [content] if as_list else content}
    return value


def _confusions(old: Any) -> list[Any]:
    """Values of other JSON types that Python's ``==`` calls equal to ``old``."""
    if isinstance(old, bool):
        return [int(old), float(old)]
    if isinstance(old, int):
        as_float = [float(old)] if abs(old) < 2**53 else []
        return as_float + [bool(old)] * (old in (0, 1))
    if isinstance(old, float) and old.is_integer():
        return [int(old)] + [bool(old)] * (old in (0, 1))
    return []


def confusable(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with one leaf changed to a value of another JSON type that ``==`` calls
    equal (``true`` to ``1`` or ``1.0``, ``2`` to ``2.0``), or ``value`` itself when it has
    no such leaf."""
    targets = [path for path in _paths(value) if _confusions(_at(value, path))]
    if not targets:
        return st.just(value)
    return st.sampled_from(targets).flatmap(
        lambda path: st.sampled_from(_confusions(_at(value, path))).map(
            lambda new: replaced(value, path, new)
        )
    )


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value
