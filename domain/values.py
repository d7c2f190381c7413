"""Pure rules for configuration values: validation, sparse storage, patches, hashes.

Values are stored *sparse*: exactly the fields a command set, normalised by the area
schema. Reads fill the rest from the schema's defaults.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch
from pydantic import SecretStr, TypeAdapter, ValidationError

from domain.areas.base import AreaModel
from domain.errors import FieldError, InvalidValueError
from domain.limits import DEFAULT_LIMITS, ValueLimits

JsonObject = dict[str, Any]
_JSONABLE: TypeAdapter[Any] = TypeAdapter(Any)


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn a pydantic error into field errors; input values are never echoed."""
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        errors.append(FieldError(loc or "value", message))
    return errors


def validate(
    model: type[AreaModel],
    value: Mapping[str, Any],
    *,
    key: str,
    limits: ValueLimits = DEFAULT_LIMITS,
) -> AreaModel:
    """Validate a (sparse) value against its area, defaults filled in.

    The value, and what the schema makes of it, must keep within ``limits``. Raises
    :class:`InvalidValueError` naming every bad field.
    """
    return validate_sparse(model, value, key=key, limits=limits)[0]


def validate_sparse(
    model: type[AreaModel],
    value: Mapping[str, Any],
    *,
    key: str,
    limits: ValueLimits = DEFAULT_LIMITS,
) -> tuple[AreaModel, JsonObject]:
    """:func:`validate`, with the normalised sparse value it checked (what the log
    records, secrets not yet sealed). Raises :class:`InvalidValueError`."""
    if not isinstance(value, Mapping):
        raise InvalidValueError.single("value", "must be a JSON object", area=model.area_name)
    # Before the schema sees it: pydantic and every later encoder recurse.
    limits.check(value, area=model.area_name)
    try:
        instance = model.model_validate(dict(value))
    except ValidationError as exc:
        raise InvalidValueError(field_errors(exc), area=model.area_name) from None
    validate_key = getattr(model, "validate_key", None)
    if callable(validate_key):
        try:
            validate_key(key, instance)
        except ValueError as exc:
            raise InvalidValueError.single("key", str(exc), area=model.area_name) from None
    # The schema may coerce ("1e30" or 1e30 into a 31-digit int) or add fields.
    sparse = to_json(instance, sparse=True)
    limits.check(sparse, area=model.area_name)
    return instance, sparse


def _unmask_dump(python_dump: Any) -> Any:
    if isinstance(python_dump, SecretStr):
        return python_dump.get_secret_value()
    if isinstance(python_dump, dict):
        return {k: _unmask_dump(v) for k, v in python_dump.items()}
    if isinstance(python_dump, list | tuple):
        return [_unmask_dump(v) for v in python_dump]
    return python_dump


def to_json(instance: AreaModel, *, sparse: bool) -> JsonObject:
    """Dump a validated value as JSON data, secrets as stored (never masked).

    ``sparse`` keeps only the fields that were set explicitly.
    """
    dumped = instance.model_dump(mode="python", exclude_unset=sparse)
    result: JsonObject = _JSONABLE.dump_python(_unmask_dump(dumped), mode="json")
    return result


def normalize(
    model: type[AreaModel],
    value: Mapping[str, Any],
    *,
    key: str,
    limits: ValueLimits = DEFAULT_LIMITS,
) -> JsonObject:
    """Validate and return the normalised sparse value (what the log records)."""
    return validate_sparse(model, value, key=key, limits=limits)[1]


def complete(
    model: type[AreaModel],
    sparse: Mapping[str, Any],
    *,
    key: str,
    limits: ValueLimits = DEFAULT_LIMITS,
) -> JsonObject:
    """The full value: stored fields plus schema defaults."""
    return to_json(validate(model, sparse, key=key, limits=limits), sparse=False)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON merge patch; ``null`` removes a member. ``target`` is not
    changed; the walk is iterative, so a deep patch cannot exhaust the stack."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    pending: list[tuple[JsonObject, JsonObject]] = [(result, patch)]
    while pending:
        into, members = pending.pop()
        for name, member in members.items():
            if member is None:
                into.pop(name, None)
            elif isinstance(member, dict):
                base = into.get(name)
                merged = dict(base) if isinstance(base, dict) else {}
                into[name] = merged
                pending.append((merged, member))
            else:
                into[name] = member
    return result


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON data by JSON type: ``true`` is not ``1`` and ``1`` is not ``1.0``
    (Python's ``==`` says both are), at any depth. Iterative."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        kind = _kind(x)
        if kind != _kind(y):
            return False
        if kind == "object":
            if x.keys() != y.keys():
                return False
            pending.extend((x[name], y[name]) for name in x)
        elif kind == "array":
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif kind == "float":
            if repr(x) != repr(y):  # as encoded: -0.0 is not 0.0
                return False
        elif x != y:
            return False
    return True


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def json_diff(before: Any, after: Any) -> list[JsonObject]:
    """RFC 6902 operations turning ``before`` into ``after``: objects are compared member
    by member (removals first, then additions and replacements in ``after``'s order),
    lists of the same length item by item; any other changed value (by
    :func:`json_equal`) is replaced whole."""
    ops: list[JsonObject] = []
    _diff(before, after, "", ops)
    return ops


def _diff(before: Any, after: Any, path: str, ops: list[JsonObject]) -> None:
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _diff(old, new, f"{path}/{index}", ops)
        return
    if not (isinstance(before, dict) and isinstance(after, dict)):
        if not json_equal(before, after):
            ops.append({"op": "replace", "path": path, "value": copy.deepcopy(after)})
        return
    for name in before:
        if name not in after:
            ops.append({"op": "remove", "path": f"{path}/{_escape(name)}"})
    for name, value in after.items():
        member = f"{path}/{_escape(name)}"
        if name in before:
            _diff(before[name], value, member, ops)
        else:
            ops.append({"op": "add", "path": member, "value": copy.deepcopy(value)})


def _escape(name: str) -> str:
    """RFC 6901 escaping of one JSON-pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")


def apply_json_patch(document: Any, ops: list[JsonObject]) -> Any:
    """Apply RFC 6902 operations to a copy of ``document``."""
    return jsonpatch.apply_patch(document, ops, in_place=False)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON encoding used for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def value_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of a stored value, ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
