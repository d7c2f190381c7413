"""Environment documents: what ``export`` writes and ``plan``/``apply`` read.

``{environment, position, recorded_at, entries: {area: {key: value}}}`` with the stored
(sparse) values, so applying a document reproduces exactly what was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.address import InvalidAddressError, check_name
from domain.areas.base import SINGLETON_KEY
from domain.areas.registry import AreaRegistry
from domain.environment import EntryKey, EnvState
from domain.errors import AreaNotFoundError, FieldError, InvalidValueError
from domain.limits import path_segment
from domain.secrets import SecretCodec, seal_secrets
from domain.stored import EntryProblem
from domain.values import JsonObject, validate_sparse

_TOP_LEVEL = {"environment", "position", "recorded_at", "entries", "problems"}


@dataclass(frozen=True)
class EnvDocument:
    """A whole environment's stored values; ``position``/``recorded_at`` say when.
    ``problems``: entries the export left out because their stored value cannot be
    served (applying the document leaves them alone, even with ``prune``)."""

    environment: str | None
    entries: dict[str, dict[str, JsonObject]]
    position: int | None = None
    recorded_at: datetime | None = None
    problems: list[EntryProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The document as plain JSON-able data (``problems`` only when there are some)."""
        data: dict[str, Any] = {
            "environment": self.environment,
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "entries": self.entries,
        }
        if self.problems:
            data["problems"] = [p.to_json() for p in self.problems]
        return data


def parse_document(data: Any) -> EnvDocument:
    """Check a document's shape. Raises :class:`InvalidValueError` naming every bad field."""
    if not isinstance(data, Mapping):
        raise InvalidValueError.single("document", "must be an object with `entries`")
    unknown = sorted(str(name) for name in set(data) - _TOP_LEVEL)
    errors = [FieldError(path_segment(name), "unknown field") for name in unknown]
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
            where = f"entries.{path_segment(str(area))}"
            errors.append(FieldError(where, "must be an object {key: value}"))
            continue
        for key, value in keyed.items():
            if not isinstance(value, Mapping):
                where = _entry_path(str(area), str(key))
                errors.append(FieldError(where, "must be a JSON object"))
                continue
            checked.setdefault(str(area), {})[str(key)] = dict(value)
    problems = _problems(data.get("problems", []), errors)
    if errors:
        raise InvalidValueError(errors)
    return EnvDocument(environment=environment, entries=checked, problems=problems)


def _problems(data: Any, errors: list[FieldError]) -> list[EntryProblem]:
    """The entries a document says its export left out: ``[{area, key, reason}]``."""
    shape = "must be a list of {area, key, reason}"
    if not isinstance(data, list):
        errors.append(FieldError("problems", shape))
        return []
    problems = []
    for index, item in enumerate(data):
        parts = [item.get(k) if isinstance(item, Mapping) else None for k in ("area", "key")]
        reason = item.get("reason", "") if isinstance(item, Mapping) else None
        if not all(isinstance(p, str) for p in (*parts, reason)):
            errors.append(FieldError(f"problems.{index}", shape))
            continue
        problems.append(EntryProblem(str(parts[0]), str(parts[1]), str(reason)))
    return problems


def entry_errors(area: str, key: str, exc: InvalidValueError) -> list[FieldError]:
    """An entry's field errors, named as in a document: ``entries.AREA.KEY.FIELD``."""
    return [FieldError(f"{_entry_path(area, key)}.{e.field}", e.message) for e in exc.errors]


def _entry_path(area: str, key: str) -> str:
    # Names come from the document: quoted so that an error naming them always prints.
    return f"entries.{path_segment(area)}.{path_segment(key)}"


def prepare_values(
    document: EnvDocument,
    *,
    registry: AreaRegistry,
    codec: SecretCodec | None,
    current: EnvState,
    may_reveal: bool = False,
) -> dict[EntryKey, JsonObject]:
    """Validate every entry of a document and seal its secrets (``********`` keeps the
    current secret; a plaintext secret is a change unless the caller ``may_reveal``
    secrets: see :func:`~domain.secrets.seal_secrets`). Raises one
    :class:`InvalidValueError` listing every bad field of every entry, or
    :class:`SecretKeyError`."""
    wanted: dict[EntryKey, JsonObject] = {}
    errors: list[FieldError] = []
    for area, keyed in document.entries.items():
        for key, value in keyed.items():
            where = _entry_path(area, key)
            try:
                wanted[area, key] = _prepare(
                    registry, codec, current, area=area, key=key, value=value, reveal=may_reveal
                )
            except InvalidValueError as exc:
                errors.extend(entry_errors(area, key, exc))
            except (InvalidAddressError, AreaNotFoundError) as exc:
                errors.append(FieldError(where, str(exc)))
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
    reveal: bool,
) -> JsonObject:
    model = registry.get(area)
    check_name("key", key)
    if model.singleton and key != SINGLETON_KEY:
        raise InvalidAddressError(f"area {area!r} is a singleton: use key {SINGLETON_KEY!r}")
    instance, sparse = validate_sparse(model, value, key=key, limits=registry.limits)
    before = current.get((area, key))
    previous = before.stored if before else None
    return seal_secrets(
        instance, sparse, previous, codec, limits=registry.limits, may_reveal=reveal
    )
