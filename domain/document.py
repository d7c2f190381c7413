"""Environment documents: what ``export`` writes and ``plan``/``apply`` read.

``{environment, position, recorded_at, entries: {area: {key: value}}}`` with the stored
(sparse) values, so applying a document reproduces exactly what was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.address import InvalidAddressError, check_name
from domain.areas.base import SINGLETON_KEY
from domain.areas.registry import AreaRegistry
from domain.environment import EntryKey, EnvState
from domain.errors import AreaNotFoundError, FieldError, InvalidValueError, SecretKeyError
from domain.secrets import SecretCodec, seal_secrets
from domain.values import JsonObject, to_json, validate

_TOP_LEVEL = {"environment", "position", "recorded_at", "entries"}


@dataclass(frozen=True)
class EnvDocument:
    """A whole environment's stored values; ``position``/``recorded_at`` say when."""

    environment: str | None
    entries: dict[str, dict[str, JsonObject]]
    position: int | None = None
    recorded_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The document as plain JSON-able data."""
        return {
            "environment": self.environment,
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "entries": self.entries,
        }


def parse_document(data: Any) -> EnvDocument:
    """Check a document's shape. Raises :class:`InvalidValueError` naming every bad field."""
    if not isinstance(data, Mapping):
        raise InvalidValueError.single("document", "must be an object with `entries`")
    errors = [FieldError(name, "unknown field") for name in sorted(set(data) - _TOP_LEVEL)]
    environment = data.get("environment")
    try:
        if environment is not None:
            check_name("environment", environment if isinstance(environment, str) else "")
    except InvalidAddressError as exc:
        errors.append(FieldError("environment", str(exc)))
        environment = None
    entries = data.get("entries")
    if not isinstance(entries, Mapping):
        errors.append(FieldError("entries", "must be an object {area: {key: value}}"))
        entries = {}
    checked: dict[str, dict[str, JsonObject]] = {}
    for area, keyed in entries.items():
        if not isinstance(keyed, Mapping):
            errors.append(FieldError(f"entries.{area}", "must be an object {key: value}"))
            continue
        for key, value in keyed.items():
            if not isinstance(value, Mapping):
                errors.append(FieldError(f"entries.{area}.{key}", "must be a JSON object"))
                continue
            checked.setdefault(str(area), {})[str(key)] = dict(value)
    if errors:
        raise InvalidValueError(errors)
    return EnvDocument(environment=environment, entries=checked)


def entry_errors(area: str, key: str, exc: InvalidValueError) -> list[FieldError]:
    """An entry's field errors, named as in a document: ``entries.AREA.KEY.FIELD``."""
    return [FieldError(f"entries.{area}.{key}.{e.field}", e.message) for e in exc.errors]


def prepare_values(
    document: EnvDocument,
    *,
    registry: AreaRegistry,
    codec: SecretCodec | None,
    current: EnvState,
) -> dict[EntryKey, JsonObject]:
    """Validate every entry of a document and seal its secrets (``********`` keeps the
    current secret). Raises one :class:`InvalidValueError` listing every bad field of
    every entry, or :class:`SecretKeyError`."""
    wanted: dict[EntryKey, JsonObject] = {}
    errors: list[FieldError] = []
    for area, keyed in document.entries.items():
        for key, value in keyed.items():
            where = f"entries.{area}.{key}"
            try:
                wanted[area, key] = _prepare(
                    registry, codec, current, area=area, key=key, value=value
                )
            except InvalidValueError as exc:
                errors.extend(entry_errors(area, key, exc))
            except (InvalidAddressError, AreaNotFoundError) as exc:
                errors.append(FieldError(where, str(exc)))
            except SecretKeyError:
                if codec is None:
                    raise
                errors.append(FieldError(where, "holds a secret sealed with another key"))
    if errors:
        raise InvalidValueError(errors)
    return wanted


def _prepare(
    registry: AreaRegistry,
    codec: SecretCodec | None,
    current: EnvState,
    *,
    area: str,
    key: str,
    value: JsonObject,
) -> JsonObject:
    model = registry.get(area)
    check_name("key", key)
    if model.singleton and key != SINGLETON_KEY:
        raise InvalidAddressError(f"area {area!r} is a singleton: use key {SINGLETON_KEY!r}")
    instance = validate(model, value, key=key, limits=registry.limits)
    sparse = to_json(instance, sparse=True)
    before = current.get((area, key))
    previous = before.stored if before else None
    return seal_secrets(instance, sparse, previous, codec, limits=registry.limits)
