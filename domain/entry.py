"""The ``ConfigEntry`` aggregate: one configuration entry and its history of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    CanSnapshotAggregate,
)
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from domain.address import Address
from domain.errors import (
    EntryStateError,
    InvalidValueError,
    NotFoundError,
    VersionConflictError,
)
from domain.values import (
    JsonObject,
    apply_json_patch,
    field_errors,
    json_diff,
    json_equal,
    value_hash,
)

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


class Provenance(BaseModel):
    """Who asked for a change, why, and through which channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="api", min_length=1, max_length=50)
    correlation_id: str = Field(min_length=1, max_length=200)

    @classmethod
    def checked(cls, **fields: Any) -> Provenance:
        """Build one; raises :class:`InvalidValueError` naming each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise InvalidValueError(field_errors(exc)) from None

    @field_validator("actor", "reason", "source", "correlation_id")
    @classmethod
    def _no_nul(cls, text: str | None) -> str | None:
        if text is not None and "\x00" in text:
            raise ValueError("must not contain NUL characters")  # PostgreSQL text cannot
        return text


class EventMeta(Provenance):
    """Metadata every entry event carries."""

    schema_version: int = Field(ge=1)
    value_hash: str


class DomainEvent(BaseModel):
    """Frozen pydantic base of every stored event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime


class ConfigEntry(BaseAggregate[UUID]):
    """One configuration entry, addressed by ``(environment, area, key)``.

    ``value`` is the sparse stored value (secrets sealed). Commands raise
    :class:`VersionConflictError`, :class:`NotFoundError` or :class:`EntryStateError`.
    They are named as users say them (``set``, ``patch``, ``delete``, ``undelete``,
    ``roll_back`` for ``rollback``); the events keep their older names (``ValueReplaced``,
    ``ValueChanged``, ``Restored``...), since those are the topics stored in the log.
    """

    def __init__(self, environment: str, area: str, key: str, value: JsonObject) -> None:
        self.environment = environment
        self.area = area
        self.key = key
        self.value: JsonObject = value
        self.deleted = False
        self.last_meta: JsonObject = {}

    class Event(DomainEvent, CanMutateAggregate[UUID]):
        """Base of the entry's events."""

        meta: EventMeta
        event_name: ClassVar[str] = "event"

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, ConfigEntry)
            aggregate.value = self.value_after(aggregate.value)
            aggregate.deleted = self.deleted_after(aggregate.deleted)
            aggregate.last_meta = self.meta.model_dump(mode="json")

        # What each event does to the entry's state, decided once here: the aggregate
        # applies it, and readers that replay events without the aggregate
        # (projections, environment replays, verify, repair) call the same two methods.
        def value_after(self, value: JsonObject) -> JsonObject:
            """The stored value after this event, given the value before it."""
            return value

        def deleted_after(self, deleted: bool) -> bool:
            """Whether the entry is deleted after this event, given whether it was."""
            return False

    class Created(Event, CanInitAggregate[UUID]):
        """The entry received its first value."""

        originator_topic: str
        environment: str
        area: str
        key: str
        value: JsonObject
        event_name: ClassVar[str] = "created"

        def value_after(self, value: JsonObject) -> JsonObject:
            return self.value

    class ValueReplaced(Event):
        """``set``: the stored value was replaced as a whole (``changes``: RFC 6902 from before)."""

        value: JsonObject
        changes: list[JsonObject]
        event_name: ClassVar[str] = "replaced"

        def value_after(self, value: JsonObject) -> JsonObject:
            return self.value

    class ValueChanged(Event):
        """``patch``: the stored value changed by these RFC 6902 operations."""

        patch: list[JsonObject]
        event_name: ClassVar[str] = "changed"

        def value_after(self, value: JsonObject) -> JsonObject:
            patched: JsonObject = apply_json_patch(value, self.patch)
            return patched

        def deleted_after(self, deleted: bool) -> bool:
            return deleted

    class RolledBack(Event):
        """The value of an earlier version was restored as a new version."""

        target_version: int
        value: JsonObject
        changes: list[JsonObject]
        event_name: ClassVar[str] = "rolled_back"

        def value_after(self, value: JsonObject) -> JsonObject:
            return self.value

    class Deleted(Event):
        """The entry was deleted; its history stays."""

        event_name: ClassVar[str] = "deleted"

        def deleted_after(self, deleted: bool) -> bool:
            return True

    class Restored(Event):
        """``undelete``: a deleted entry was brought back with its last value."""

        event_name: ClassVar[str] = "restored"

    class Reestablished(Event):
        """``repair``: the entry's log was damaged (versions missing or unreadable), so its
        state (value and deleted flag) was set back to that of ``target_version``, the last
        one its intact events or a snapshot they confirm prove. The events before stay as
        they are; a replay starts again from here."""

        target_version: int
        value: JsonObject
        deleted: bool
        changes: list[JsonObject]
        event_name: ClassVar[str] = "reestablished"

        def value_after(self, value: JsonObject) -> JsonObject:
            return self.value

        def deleted_after(self, deleted: bool) -> bool:
            return self.deleted

    class Snapshot(DomainEvent, CanSnapshotAggregate[UUID]):
        """Per-entry snapshot, so reads at any version replay few events."""

        topic: str
        state: JsonObject

        def mutate(self, _: None) -> Any:
            aggregate = super().mutate(_)
            for name in ("_created_on", "_modified_on"):
                setattr(aggregate, name, _DATETIME.validate_python(getattr(aggregate, name)))
            return aggregate

    @classmethod
    def resume(
        cls,
        address: Address,
        *,
        version: int,
        value: JsonObject,
        deleted: bool,
        modified_on: datetime,
    ) -> ConfigEntry:
        """The entry at a state already known from the log (bulk commands replay a whole
        environment at once instead of loading entries one by one). Saving its new events
        still fails if the entry moved past ``version``."""
        entry = object.__new__(cls)
        # The same attributes eventsourcing's snapshot restore sets. The creation time is
        # not part of an environment's state, so ``modified_on`` stands in for it (only
        # per-entry snapshots keep it; no read uses it).
        vars(entry).update(
            _id=address.entry_id,
            _version=version,
            _created_on=modified_on,
            _modified_on=modified_on,
            _pending_events=[],
            environment=address.environment,
            area=address.area,
            key=address.key,
            value=value,
            deleted=deleted,
            last_meta={},
        )
        return entry

    @property
    def address(self) -> Address:
        """Where this entry lives."""
        return Address(self.environment, self.area, self.key)

    @classmethod
    def create(
        cls, address: Address, value: JsonObject, provenance: Provenance, schema_version: int
    ) -> ConfigEntry:
        """Start a new entry with its first value."""
        return cls._create(
            cls.Created,
            id=address.entry_id,
            environment=address.environment,
            area=address.area,
            key=address.key,
            value=value,
            meta=_meta(provenance, schema_version, value),
        )

    def check_version(self, expected: int | None) -> None:
        """Raise :class:`VersionConflictError` if ``expected`` is stale."""
        if expected is not None and expected != self.version:
            raise VersionConflictError(str(self.address), expected=expected, current=self.version)

    def check_live(self) -> None:
        """Raise :class:`NotFoundError` if the entry is deleted."""
        if self.deleted:
            raise NotFoundError(f"{self.address} is deleted (undelete restores it)")

    def set(self, value: JsonObject, provenance: Provenance, schema_version: int) -> bool:
        """``set``: replace the stored value (bringing a deleted entry back); returns
        False (and records nothing) if unchanged. Records :class:`ValueReplaced`."""
        if json_equal(value, self.value) and not self.deleted:
            return False
        self.trigger_event(
            self.ValueReplaced,
            value=value,
            changes=json_diff(self.value, value),
            meta=_meta(provenance, schema_version, value),
        )
        return True

    def patch(self, value: JsonObject, provenance: Provenance, schema_version: int) -> bool:
        """``patch``: record the RFC 6902 patch to ``value``; returns False if unchanged.
        Records :class:`ValueChanged`."""
        self.check_live()
        ops = json_diff(self.value, value)
        if not ops:
            return False
        self.trigger_event(
            self.ValueChanged, patch=ops, meta=_meta(provenance, schema_version, value)
        )
        return True

    def roll_back(
        self, target_version: int, value: JsonObject, provenance: Provenance, schema_version: int
    ) -> None:
        """``rollback``: append a new version whose value equals ``target_version``'s.
        Records :class:`RolledBack`."""
        self.trigger_event(
            self.RolledBack,
            target_version=target_version,
            value=value,
            changes=json_diff(self.value, value),
            meta=_meta(provenance, schema_version, value),
        )

    def delete(self, provenance: Provenance, schema_version: int) -> None:
        """``delete``: mark the entry deleted. Records :class:`Deleted`."""
        self.check_live()
        self.trigger_event(self.Deleted, meta=_meta(provenance, schema_version, self.value))

    def undelete(self, provenance: Provenance, schema_version: int) -> None:
        """``undelete``: bring a deleted entry back. Records :class:`Restored`."""
        if not self.deleted:
            raise EntryStateError(f"{self.address} is not deleted")
        self.trigger_event(self.Restored, meta=_meta(provenance, schema_version, self.value))


def _meta(provenance: Provenance, schema_version: int, value: JsonObject) -> EventMeta:
    # Every part is already valid (a validated provenance, our own hash): skip validation.
    return EventMeta.model_construct(
        **dict(provenance), schema_version=schema_version, value_hash=value_hash(value)
    )
