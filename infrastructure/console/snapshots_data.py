"""What the console's snapshot and restore pages read from a request: the point to
restore to (exactly one of a snapshot, a time, a position, as ``POST /v1/envs/{env}/restore``
takes it), the position a dry run was computed at, and a change's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import TypeAdapter, ValidationError

from domain.parsing import MAX_INT64
from infrastructure.http.common import UtcTime
from infrastructure.http.problems import BadRequestError
from infrastructure.store import ConfigStore
from infrastructure.store.bulk import BulkResult
from infrastructure.store.environment import PointRef

MAX_REASON = 2000
MAX_NAME = 100
_TIME: TypeAdapter[datetime] = TypeAdapter(UtcTime)


@dataclass(frozen=True)
class RestorePoint:
    """Where to restore to, as the form gave it (exactly one field set)."""

    to_snapshot: str = ""
    to_time: str = ""
    to_position: str = ""

    @property
    def query(self) -> str:
        """The point as a query string (the dry run's address)."""
        return urlencode({k: v for k, v in vars(self).items() if v})

    @property
    def label(self) -> str:
        """The point in words, e.g. ``snapshot before-upgrade``."""
        if self.to_snapshot:
            return f"snapshot {self.to_snapshot}"
        if self.to_time:
            return f"time {self.to_time}"
        return f"position {self.to_position}"


def restore_point(
    to_snapshot: str | None, to_time: str | None, to_position: str | None
) -> tuple[RestorePoint, PointRef]:
    """The point given (blank fields count as absent) and its store form. Raises
    :class:`BadRequestError` unless exactly one is given and it is well formed."""
    point = RestorePoint(*((text or "").strip() for text in (to_snapshot, to_time, to_position)))
    given = [value for value in vars(point).values() if value]
    if len(given) != 1:
        raise BadRequestError("give exactly one of a snapshot, a time and a position")
    if point.to_snapshot:
        if len(point.to_snapshot) > MAX_NAME:
            raise BadRequestError(f"a snapshot name has at most {MAX_NAME} characters")
        return point, point.to_snapshot
    if point.to_position:
        return point, position_of(point.to_position, "position")
    try:
        moment = _TIME.validate_python(point.to_time)
    except ValidationError:
        raise BadRequestError(
            "the time is not understood: use ISO-8601, e.g. 2026-01-31T12:00:00Z"
        ) from None
    return point, moment


def position_of(text: str | None, name: str) -> int:
    """A log position from a form: ASCII digits, at most the largest 64-bit integer.
    Raises :class:`BadRequestError` naming ``name``."""
    digits = (text or "").strip()
    if not digits.isascii() or not digits.isdigit() or int(digits) > MAX_INT64:
        raise BadRequestError(f"the {name} must be a whole number from 0 to {MAX_INT64}")
    return int(digits)


def reason_of(text: str | None) -> str | None:
    """A change's reason from a form (``None`` when blank). Raises :class:`BadRequestError`
    when longer than the API allows."""
    reason = (text or "").strip()
    if len(reason) > MAX_REASON:
        raise BadRequestError(f"a reason has at most {MAX_REASON} characters")
    return reason or None


def values_before(store: ConfigStore, result: BulkResult) -> dict[tuple[str, str], Any]:
    """The live entries' values at the position ``result`` was planned at (secrets
    redacted, as every read of the store shows them), by ``(area, key)``: what each
    step of the plan starts from. An entry whose value cannot be served is absent."""
    document = store.export(result.environment, result.base_position)
    return {
        (area, key): value
        for area, values in document.entries.items()
        for key, value in values.items()
    }


def counts(result: BulkResult) -> dict[str, int]:
    """How many entries each action of a plan touches, and how many stay unchanged."""
    found: dict[str, int] = {}
    for step in result.steps:
        found[step.action] = found.get(step.action, 0) + 1
    return found
