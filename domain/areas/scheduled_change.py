"""The ``scheduled_change`` area: a set, patch or delete of one entry, to be applied later.

Scheduled changes live in the reserved system environment, so scheduling, applying and
cancelling them are events in the same log (and audit trail) as configuration changes.
The value of a set or patch is stored with its secrets already sealed.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from domain.address import Address
from domain.areas.base import AreaModel, Name

SCHEDULE_PREFIX = "sch-"
SCHEDULE_ID = re.compile(r"^sch-[0-9a-f]{12}$")

Operation = Literal["set", "patch", "delete"]
Status = Literal["pending", "applied", "cancelled", "failed"]
OPERATIONS: tuple[Operation, ...] = ("set", "patch", "delete")
#: Statuses a change never leaves.
DONE: frozenset[str] = frozenset({"applied", "cancelled", "failed"})


def new_schedule_id() -> str:
    """A fresh id ``sch-`` + 12 hex digits (48 random bits: collisions are refused by
    the store's create-only write, never silently merged)."""
    return f"{SCHEDULE_PREFIX}{secrets.token_hex(6)}"


class ScheduledChange(AreaModel):
    """One change of a target entry, due at ``due_at``, and what became of it.

    Raises pydantic's ``ValidationError`` (turned into :class:`InvalidValueError` by the
    store) when ``value`` does not fit ``operation`` or a done status lacks its result.
    """

    area_name: ClassVar[str] = "scheduled_change"
    summary: ClassVar[str] = "A set, patch or delete of an entry, applied at a given time"

    environment: Name = Field(description="Environment of the target entry.")
    area: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="Area of the target.")
    key: Name = Field(description="Key of the target entry.")
    operation: Operation = Field(description="set, patch (RFC 7396) or delete.")
    value: dict[str, Any] | None = Field(
        default=None, description="The value (set) or merge patch (patch); secrets sealed."
    )
    due_at: AwareDatetime = Field(description="When to apply it (stored in UTC).")
    expected_version: int | None = Field(
        default=None, ge=0, description="Apply only if the target is at this version."
    )
    status: Status = Field(default="pending", description="pending until applied or ended.")
    result: str | None = Field(
        default=None, max_length=2000, description="What applying did, or why it failed."
    )
    applied_version: int | None = Field(
        default=None, ge=1, description="The target's version after the change was applied."
    )
    requested_by: str = Field(
        min_length=1, max_length=200, description="Who scheduled it; the actor of the change."
    )
    reason: str | None = Field(default=None, max_length=2000, description="Why, as given.")

    @field_validator("due_at")
    @classmethod
    def _in_utc(cls, moment: datetime) -> datetime:
        # One offset for every stored time, so they compare and read alike.
        return moment.astimezone(UTC)

    @model_validator(mode="after")
    def _value_fits_operation(self) -> ScheduledChange:
        if self.operation == "delete" and self.value is not None:
            raise ValueError("value: a scheduled delete takes no value")
        if self.operation != "delete" and self.value is None:
            raise ValueError(f"value: a scheduled {self.operation} needs a JSON object")
        if self.status == "applied" and self.applied_version is None:
            raise ValueError("applied_version: an applied change records the target's version")
        return self

    @classmethod
    def validate_key(cls, key: str, value: ScheduledChange) -> None:
        """Store hook: the key must be a schedule id (``sch-`` + 12 hex digits).

        Raises ``ValueError`` otherwise."""
        del value
        if not SCHEDULE_ID.fullmatch(key):
            raise ValueError(f"a scheduled change's key is sch- and 12 hex digits, not {key!r}")

    @property
    def target(self) -> Address:
        """The entry the change applies to."""
        return Address(self.environment, self.area, self.key)

    @property
    def done(self) -> bool:
        """True once applied, cancelled or failed (it will never apply after that)."""
        return self.status in DONE
