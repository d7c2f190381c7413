"""Pure rules of scheduled changes: what is stored when a change is scheduled, and the
event it makes on its target when it is applied."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from domain.address import Address
from domain.areas.base import AreaModel
from domain.areas.scheduled_change import ScheduledChange
from domain.decisions import (
    DecisionRules,
    check_expected,
    decide_delete,
    decide_patch,
    decide_set,
)
from domain.entry import ConfigEntry, Provenance
from domain.errors import InvalidValueError
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.secrets import REDACTED, SecretCodec, get_path, seal_secrets, sealing_paths
from domain.values import JsonObject, merge_patch, validate_sparse

SCHEDULER_SOURCE = "scheduler"
TEXT_LIMIT = 2000  # of a reason or a result

Path = tuple[str | int, ...]


def check_due(due_at: datetime, now: datetime | None = None) -> None:
    """Raise :class:`InvalidValueError` naming ``at`` unless ``due_at`` is timezone-aware
    and later than ``now`` (default: the current time)."""
    if due_at.tzinfo is None or due_at.utcoffset() is None:
        raise InvalidValueError.single("at", "needs a UTC offset, e.g. 2026-01-31T12:00:00Z")
    if due_at <= (now or datetime.now(UTC)):
        raise InvalidValueError.single("at", f"{due_at.isoformat()} is not in the future")


def sealed_change_value(
    model: type[AreaModel],
    address: Address,
    operation: str,
    value: Any,
    *,
    current: ConfigEntry | None,
    codec: SecretCodec | None,
    limits: ValueLimits = DEFAULT_LIMITS,
    may_reveal: bool = False,
) -> JsonObject | None:
    """The value to store with a new scheduled change, validated against the target area
    and with its secrets sealed: a set's value; a patch, checked against the entry's
    current value (on its own when the entry is missing or deleted); ``None`` for a
    delete. The value, and a patch's result, must keep within ``limits``. A plaintext
    secret is sealed anew (so applying it is a change) unless the caller ``may_reveal``
    it. Raises :class:`InvalidValueError` or :class:`SecretKeyError`."""
    if operation == "delete":
        if value is not None:
            raise InvalidValueError.single("value", "a scheduled delete takes no value")
        return None
    if not isinstance(value, dict):
        field = "patch" if operation == "patch" else "value"
        raise InvalidValueError.single(field, "must be a JSON object", area=address.area)
    if operation == "set":
        instance, sparse = validate_sparse(model, value, key=address.key, limits=limits)
        stored = current.value if current else None
        sealed = seal_secrets(instance, sparse, stored, codec, limits=limits, may_reveal=may_reveal)
        return _keep_placeholders(instance, value, sealed)
    base = current.value if current and not current.deleted else {}
    patched = merge_patch(base, value)
    instance, sparse = validate_sparse(model, patched, key=address.key, limits=limits)
    merged = seal_secrets(instance, sparse, base, codec, limits=limits, may_reveal=may_reveal)
    # A merge patch replaces lists whole, so a secret it carries sits at the same path
    # in the patch as in the merged value.
    return _keep_placeholders(instance, value, merged, into=copy.deepcopy(value))


def _keep_placeholders(
    instance: AreaModel, given: JsonObject, sealed: JsonObject, *, into: JsonObject | None = None
) -> JsonObject:
    """``into`` (default: ``sealed``) with each secret given in plaintext sealed, and
    each ``********`` kept as it is: it means "the secret stored when the change
    applies", which may have been rotated since it was scheduled."""
    result = sealed if into is None else into
    for path in sealing_paths(instance, sealed):
        given_secret = get_path(given, path)
        if given_secret == REDACTED:
            _put(result, path, REDACTED)
        elif isinstance(given_secret, str):
            _put(result, path, get_path(sealed, path))
    return result


def pending_change(
    address: Address,
    operation: str,
    value: JsonObject | None,
    *,
    due_at: datetime,
    provenance: Provenance,
    expected_version: int | None,
) -> JsonObject:
    """The stored fields of a new scheduled change (``value`` as prepared by
    :func:`sealed_change_value`)."""
    data: JsonObject = {
        "environment": address.environment,
        "area": address.area,
        "key": address.key,
        "operation": operation,
        "value": value,
        "due_at": due_at.isoformat(),
        "expected_version": expected_version,
        "status": "pending",
        "requested_by": provenance.actor,
        "reason": provenance.reason,
    }
    return {name: item for name, item in data.items() if item is not None}


def target_after(
    rules: DecisionRules, change: ScheduledChange, entry: ConfigEntry | None, *, who: Provenance
) -> ConfigEntry:
    """The target entry (``entry``, as loaded now) with the change's event pending, or
    none when it changes nothing: decided as a direct set, patch or delete is (see
    :mod:`domain.decisions`), by a caller who may not reveal secrets. Raises why the
    change cannot apply: :class:`VersionConflictError` (expected version),
    :class:`NotFoundError` (patch or delete of a missing or deleted entry),
    :class:`InvalidValueError`, :class:`SecretKeyError`."""
    address = change.target
    check_expected(entry, address, change.expected_version)
    if change.operation == "set":
        return decide_set(entry, address, change.value or {}, who=who, rules=rules)
    if change.operation == "patch":
        return decide_patch(entry, address, change.value, who=who, rules=rules)
    return decide_delete(entry, address, who=who, rules=rules)


def scheduler_provenance(schedule_id: str, change: ScheduledChange) -> Provenance:
    """Provenance of applying a change: who scheduled it as actor, source ``scheduler``,
    the schedule id as correlation id and in the reason, so history and audit tie the
    change to its schedule."""
    why = f": {change.reason}" if change.reason else ""
    return Provenance.checked(
        actor=change.requested_by,
        reason=clip(f"scheduled change {schedule_id}{why}"),
        source=SCHEDULER_SOURCE,
        correlation_id=schedule_id,
    )


def clip(text: str) -> str:
    """``text`` cut to the length a reason or result may have."""
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _put(document: Any, path: Path, value: Any) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
