"""Values already in the log, judged by today's rules before a read serves them.

A value written by an older release, one that a newer schema rule refuses, one nested
too deeply to encode, or one whose secret does not open with this store's key must not
break reads of the other entries: whole-environment reads check each entry with
:func:`check_stored`, serve the entries that pass and report the others as
:class:`EntryProblem`; a read of the bad entry itself raises :class:`StoredValueError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jsonpatch

from domain.areas.base import AreaModel
from domain.entry import ConfigEntry
from domain.environment import EntryState, EnvState, advance
from domain.errors import FieldError, InvalidValueError, SecretKeyError
from domain.limits import DEFAULT_LIMITS, ValueLimits
from domain.replay import deleted_after
from domain.secrets import sealed_places
from domain.values import JsonObject, validate

#: Deepest stored value a read serves. JSON encoders refuse deeper documents (orjson:
#: 254 levels) and every output wraps a value in a few levels of its own.
MAX_SERVED_DEPTH = 200
_MAX_FIELD = 60
_MAX_ERRORS = 3

#: RFC 7807 ``type`` of the HTTP 422 answered for an entry whose stored value is not
#: valid under the current rules.
STORED_VALUE_TYPE = "urn:conduit-config:problem:invalid-stored-value"
#: RFC 7807 ``type`` of the HTTP 503 answered for an entry whose own log is broken, and
#: the ``type`` of such an entry in a read's ``problems``.
BROKEN_LOG_TYPE = "urn:conduit-config:problem:broken-log"

#: Opens one sealed secret; raises :class:`SecretKeyError` when it cannot.
Opener = Callable[[str], object]


@dataclass(frozen=True)
class EntryProblem:
    """An entry a read left out, and why (never its value). ``type`` is set for an entry
    whose log is broken (:data:`BROKEN_LOG_TYPE`)."""

    area: str
    key: str
    reason: str
    type: str | None = None

    @property
    def entry(self) -> str:
        """``area/key``."""
        return f"{self.area}/{self.key}"

    def to_json(self) -> dict[str, str]:
        """``{entry, area, key, reason}``, and ``type`` when set."""
        shown = {"entry": self.entry, "area": self.area, "key": self.key, "reason": self.reason}
        if self.type is not None:
            shown["type"] = self.type
        return shown


class StoredValueError(InvalidValueError):
    """The value stored for an entry is not valid under the current rules, or cannot be
    decoded. Nothing was written; setting a new value (or rolling back to a valid
    version) repairs the entry."""

    def __init__(self, area: str, key: str, reason: str) -> None:
        super().__init__([FieldError(f"stored value of {area}/{key}", reason)], area=area)
        self.key = key
        self.reason = reason
        self.args = (
            f"the stored value of {area}/{key} is not valid under the current rules: {reason}",
        )

    @property
    def problem(self) -> EntryProblem:
        """The same, as a report item."""
        return EntryProblem(self.area or "", self.key, self.reason)


@dataclass(frozen=True)
class BrokenEntry(EntryState):
    """An entry whose events could not be replayed up to here (one does not decode, or
    its patch does not apply): its value is unknown, so no read serves it. ``stored`` is
    empty; a later event that replaces the whole value makes the entry whole again."""

    problem: str = "its value cannot be decoded"


#: Events that carry the whole new value: after one, an entry no longer depends on
#: the events before it.
_WHOLE_VALUE = (
    ConfigEntry.Created,
    ConfigEntry.ValueReplaced,
    ConfigEntry.RolledBack,
    ConfigEntry.Reestablished,
)
#: What applying a recorded patch to a value it was not made for can raise.
PATCH_ERRORS = (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, LookupError)
_PATCH_ERRORS = PATCH_ERRORS


def advance_checked(
    state: EnvState, *, area: str, key: str, version: int, position: int, event: ConfigEntry.Event
) -> None:
    """:func:`~domain.environment.advance`, except that an entry whose value cannot be
    computed (a patch on a broken value, or one that does not apply) becomes a
    :class:`BrokenEntry` instead of stopping the replay of the others."""
    before = state.get((area, key))
    if isinstance(before, BrokenEntry) and not isinstance(event, _WHOLE_VALUE):
        deleted = deleted_after(before.deleted, event)
        state[area, key] = replace(before, version=version, position=position, deleted=deleted)
        return
    try:
        advance(state, area=area, key=key, version=version, position=position, event=event)
    except (*_PATCH_ERRORS, TypeError, ValueError) as exc:
        state[area, key] = BrokenEntry(
            area,
            key,
            version,
            position,
            {},
            before.deleted if before is not None else False,
            problem=f"its change at version {version} does not apply ({type(exc).__name__})",
        )


def broken_at(
    state: EnvState, *, area: str, key: str, version: int, position: int, problem: str
) -> None:
    """Mark an entry broken at ``version`` (its event there cannot be decoded)."""
    before = state.get((area, key))
    deleted = before.deleted if before is not None else False
    state[area, key] = BrokenEntry(area, key, version, position, {}, deleted, problem=problem)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` arrays/objects deep (iterative: a
    value of any depth is measured without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node  # type: ignore[assignment]
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_stored(
    model: type[AreaModel],
    key: str,
    stored: Any,
    *,
    limits: ValueLimits = DEFAULT_LIMITS,
    opens: Opener | None = None,
) -> AreaModel:
    """The typed value of a stored one, checked against today's rules (the schema and
    ``limits``); with ``opens``, every sealed secret must open too. Raises
    :class:`StoredValueError` naming why not (the value itself is never echoed)."""
    area = model.area_name
    if not isinstance(stored, dict):
        raise StoredValueError(area, key, "is not a JSON object")
    if deeper_than(stored, MAX_SERVED_DEPTH):
        raise StoredValueError(area, key, f"nests more than {MAX_SERVED_DEPTH} levels deep")
    try:
        instance = validate(model, stored, key=key, limits=limits)
    except InvalidValueError as exc:
        raise StoredValueError(area, key, _summary(exc.errors)) from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise StoredValueError(area, key, f"cannot be decoded ({type(exc).__name__})") from None
    if opens is not None:
        _check_secrets(instance, stored, opens, key)
    return instance


def check_entry(
    model: type[AreaModel],
    entry: EntryState,
    *,
    limits: ValueLimits = DEFAULT_LIMITS,
    opens: Opener | None = None,
) -> AreaModel | None:
    """Like :func:`check_stored` for an entry of an environment's state; ``None`` for a
    deleted entry (only its shape is checked: no read serves its value)."""
    if isinstance(entry, BrokenEntry):
        if entry.deleted:
            return None  # deleted, and its value was unknown anyway
        raise StoredValueError(entry.area, entry.key, entry.problem)
    if not entry.deleted:
        return check_stored(model, entry.key, entry.stored, limits=limits, opens=opens)
    if not isinstance(entry.stored, dict) or deeper_than(entry.stored, MAX_SERVED_DEPTH):
        raise StoredValueError(entry.area, entry.key, "is not a servable JSON object")
    return None


def _check_secrets(instance: AreaModel, stored: JsonObject, opens: Opener, key: str) -> None:
    for path, sealed in sealed_places(instance, stored):
        try:
            opens(sealed)
        except SecretKeyError:
            where = ".".join(str(p) for p in path)
            raise StoredValueError(
                instance.area_name, key, f"the secret {where} does not decrypt with this key"
            ) from None


def _summary(errors: list[FieldError]) -> str:
    """The first few field errors, each field path shortened (a deep value's path would
    otherwise repeat for hundreds of levels)."""
    parts = []
    for error in errors[:_MAX_ERRORS]:
        field = error.field
        if len(field) > _MAX_FIELD:
            field = field[: _MAX_FIELD - 1] + "…"
        parts.append(f"{field}: {error.message[:200]}")
    more = len(errors) - _MAX_ERRORS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
