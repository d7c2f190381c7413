"""What each command on one entry does, decided once: set, patch, delete, undelete and
rollback, given the entry as loaded now (``None`` when it has never existed).

Each ``decide_*`` function returns the entry with the command's event pending, or with
none when the command changes nothing; it appends nothing. The store's commands and the
scheduler (:func:`domain.scheduling.target_after`) both call them, so a direct write and
a scheduled one are held to the same rules. Each raises a :class:`ConfigStoreError`:
:class:`NotFoundError`, :class:`EntryStateError`, :class:`VersionConflictError`,
:class:`InvalidValueError` or :class:`SecretKeyError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.address import Address
from domain.areas.base import AreaModel
from domain.entry import ConfigEntry, Provenance
from domain.errors import (
    EntryStateError,
    InvalidValueError,
    NotFoundError,
    SecretKeyError,
    VersionConflictError,
)
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.secrets import SecretCodec, seal_secrets, sealed_places
from domain.values import JsonObject, json_diff, merge_patch, validate, validate_sparse

#: Called with a validated value and its sparse form before its secrets are sealed.
KeepsCheck = Callable[[AreaModel, JsonObject], None]


def no_keeps_check(instance: AreaModel, sparse: JsonObject) -> None:
    """Let every value keep its stored secrets (a store without a record of its keys)."""


@dataclass(frozen=True)
class DecisionRules:
    """What deciding a command on one entry needs besides the entry and the request.

    ``keeps_check`` raises :class:`SecretKeyError` when a value that keeps a stored
    secret (``********``) may not be written by this process: the store refuses one
    whose key it does not know (what it writes next would mix keys). The domain cannot
    know the store's keys, so the store passes its check in."""

    model: type[AreaModel]
    limits: ValueLimits = DEFAULT_LIMITS
    codec: SecretCodec | None = None
    keeps_check: KeepsCheck = no_keeps_check


def check_expected(entry: ConfigEntry | None, address: Address, expected: int | None) -> None:
    """Raise :class:`VersionConflictError` unless ``expected`` (``None``: any, ``0``: no
    entry yet) is the entry's version."""
    if entry is not None:
        entry.check_version(expected)
    elif expected not in (None, 0):
        raise VersionConflictError(str(address), expected=expected, current=0)


def decide_set(
    entry: ConfigEntry | None,
    address: Address,
    value: Any,
    *,
    who: Provenance,
    rules: DecisionRules,
    may_reveal: bool = False,
) -> ConfigEntry:
    """Replace the stored value (creating the entry, or bringing a deleted one back).
    Secrets as :func:`sealed_value` stores them."""
    sparse = sealed_value(rules, address, value, entry.value if entry else None, may_reveal)
    if entry is None:
        return ConfigEntry.create(address, sparse, who, rules.model.schema_version)
    entry.set(sparse, who, rules.model.schema_version)
    return entry


def decide_patch(
    entry: ConfigEntry | None,
    address: Address,
    merge: Any,
    *,
    who: Provenance,
    rules: DecisionRules,
    may_reveal: bool = False,
) -> ConfigEntry:
    """Merge an RFC 7396 patch (``null`` restores a default) into a live entry's value;
    what is validated is the result. Secrets as :func:`sealed_value` stores them."""
    require_merge_object(merge, address)
    entry = live(entry, address)
    merged = merge_patch(entry.value, merge)
    sparse = sealed_value(rules, address, merged, entry.value, may_reveal)
    entry.patch(sparse, who, rules.model.schema_version)
    return entry


def decide_delete(
    entry: ConfigEntry | None, address: Address, *, who: Provenance, rules: DecisionRules
) -> ConfigEntry:
    """Mark a live entry deleted (its history stays)."""
    entry = live(entry, address)
    entry.delete(who, rules.model.schema_version)
    return entry


def decide_undelete(
    entry: ConfigEntry | None, address: Address, *, who: Provenance, rules: DecisionRules
) -> ConfigEntry:
    """Bring a deleted entry back with its last value, which must pass today's rules
    (schema and limits may have become stricter since): :class:`InvalidValueError`
    otherwise; :class:`EntryStateError` when the entry is not deleted."""
    entry = present(entry, address)
    if entry.deleted:
        validate(rules.model, entry.value, key=address.key, limits=rules.limits)
    entry.undelete(who, rules.model.schema_version)
    return entry


def decide_rollback(
    entry: ConfigEntry | None,
    address: Address,
    target: int,
    *,
    earlier: Callable[[int], ConfigEntry],
    who: Provenance,
    rules: DecisionRules,
) -> ConfigEntry:
    """A new version equal to version ``target`` (``earlier(version)`` loads the entry
    as it was then); nothing pending when the entry already holds that value. The value
    must pass today's rules and its secrets must open with ``rules.codec``: never back to
    a value no process sharing this key can read (:class:`SecretKeyError`)."""
    entry = present(entry, address)
    if target > entry.version:
        raise NotFoundError(f"{address} has no version {target} (latest is {entry.version})")
    old = earlier(target)
    if old.deleted:
        raise EntryStateError(f"version {target} of {address} is a deleted state")
    if not entry.deleted and not json_diff(entry.value, old.value):
        return entry  # already that value: nothing to append, like an unchanged set
    instance = validate(rules.model, old.value, key=address.key, limits=rules.limits)
    require_openable(rules.codec, instance, old.value)
    entry.roll_back(target, old.value, who, rules.model.schema_version)
    return entry


def sealed_value(
    rules: DecisionRules,
    address: Address,
    value: Any,
    previous: JsonObject | None,
    may_reveal: bool = False,
) -> JsonObject:
    """``value`` as a set stores it in place of ``previous``: validated against the area
    and its limits, sparse, and with its secrets sealed (``********`` keeps the stored
    secret, which ``rules.keeps_check`` must allow). A plaintext secret is sealed anew,
    so it is a change even when it equals the stored one, unless the caller
    ``may_reveal`` secrets (else whether a write changed something would tell whether a
    guess was right). Raises :class:`InvalidValueError` or :class:`SecretKeyError`."""
    instance, sparse = validate_sparse(rules.model, value, key=address.key, limits=rules.limits)
    rules.keeps_check(instance, sparse)
    return seal_secrets(
        instance, sparse, previous, rules.codec, limits=rules.limits, may_reveal=may_reveal
    )


def require_merge_object(merge: Any, address: Address) -> None:
    """Raise :class:`InvalidValueError` naming ``patch`` unless ``merge`` is a JSON
    object (a merge patch of anything else would replace the whole value)."""
    if not isinstance(merge, dict):
        raise InvalidValueError.single("patch", "must be a JSON object", area=address.area)


def require_openable(codec: SecretCodec | None, instance: AreaModel, value: JsonObject) -> None:
    """Raise :class:`SecretKeyError` (naming the field and the key it needs) when a
    secret of ``value`` does not open with ``codec`` (no codec: nothing to check): a
    rollback must not make current a value this process, and so the processes sharing
    its keys, cannot read."""
    if codec is None:
        return
    for path, sealed in sealed_places(instance, value):
        try:
            codec.open(sealed)
        except SecretKeyError as exc:
            where = ".".join(str(p) for p in path)
            raise SecretKeyError(f"secret {where}: {exc}") from None


def present(entry: ConfigEntry | None, address: Address) -> ConfigEntry:
    """``entry``, or :class:`NotFoundError` when there is none."""
    if entry is None:
        raise NotFoundError(f"{address} not found in environment {address.environment!r}")
    return entry


def live(entry: ConfigEntry | None, address: Address) -> ConfigEntry:
    """``entry``, or :class:`NotFoundError` when there is none or it is deleted."""
    entry = present(entry, address)
    entry.check_live()
    return entry
