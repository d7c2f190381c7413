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


def validate(model: type[AreaModel], value: Mapping[str, Any], *, key: str) -> AreaModel:
    """Validate a (sparse) value against its area, defaults filled in.

    Raises :class:`InvalidValueError` naming every bad field.
    """
    if not isinstance(value, Mapping):
        raise InvalidValueError.single("value", "must be a JSON object", area=model.area_name)
    nul = [FieldError(path, "must not contain NUL characters") for path in nul_paths(value)]
    if nul:
        # PostgreSQL text cannot hold NUL: such a value would stop every projection.
        raise InvalidValueError(nul, area=model.area_name)
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
    return instance


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of the strings (or object keys) in ``value`` holding a NUL character."""
    found: list[str] = []
    if isinstance(value, str):
        return [path or "value"] if "\x00" in value else []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if "\x00" in str(key) else nul_paths(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}.{index}" if path else str(index))
    return found


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


def normalize(model: type[AreaModel], value: Mapping[str, Any], *, key: str) -> JsonObject:
    """Validate and return the normalised sparse value (what the log records)."""
    return to_json(validate(model, value, key=key), sparse=True)


def complete(model: type[AreaModel], sparse: Mapping[str, Any], *, key: str) -> JsonObject:
    """The full value: stored fields plus schema defaults."""
    return to_json(validate(model, sparse, key=key), sparse=False)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON merge patch; ``null`` removes a member."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, member in patch.items():
        if member is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), member)
    return result


def json_diff(before: Any, after: Any) -> list[JsonObject]:
    """RFC 6902 operations turning ``before`` into ``after``: objects are compared member
    by member (removals first, then additions and replacements in ``after``'s order),
    lists of the same length item by item; any other changed value is replaced whole."""
    ops: list[JsonObject] = []
    _diff(before, after, "", ops)
    return ops


def _diff(before: Any, after: Any, path: str, ops: list[JsonObject]) -> None:
    if before == after and type(before) is type(after):
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _diff(old, new, f"{path}/{index}", ops)
        return
    if not (isinstance(before, dict) and isinstance(after, dict)):
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
