"""Scheduled changes: recorded now as ``scheduled_change`` entries of the system
environment, listed and cancelled here; applied when due by the cluster leader, exactly
once (:mod:`infrastructure.store.schedule_run`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.address import SYSTEM_ENVIRONMENT, Address, InvalidAddressError
from domain.areas.scheduled_change import (
    OPERATIONS,
    SCHEDULE_ID,
    ScheduledChange,
    new_schedule_id,
)
from domain.entry import ConfigEntry, Provenance
from domain.errors import EntryStateError, InvalidValueError, NotFoundError, VersionConflictError
from domain.limits import ValueLimits
from domain.scheduling import check_due, clip, pending_change, sealed_change_value
from domain.values import JsonObject, to_json, validate
from infrastructure.retry import SCHEDULE_RACE
from infrastructure.store.base import storage_errors
from infrastructure.store.commands import StoreCommands
from infrastructure.store.readmodels import StoreReadModels
from infrastructure.store.views import ScheduledView

SCHEDULE_AREA = ScheduledChange.area_name
# A change already recorded is read, and its status written, within the widest limits
# any settings allow: a record that fitted when it was made must stay readable and
# finishable after the limits shrink or a result is added to it (else one change would
# stop every later one and could not be cancelled).
RECORDED_LIMITS = ValueLimits(
    max_depth=100,
    max_value_bytes=64 * 1024 * 1024,
    max_string_chars=16 * 1024 * 1024,
    max_key_chars=65_536,
    max_members=1_000_000,
).enclosing()


def schedule_address(schedule_id: str) -> Address:
    """Where the scheduled change ``schedule_id`` is stored; raises
    :class:`NotFoundError` for a malformed id (no change can have it)."""
    if not SCHEDULE_ID.fullmatch(schedule_id):
        raise NotFoundError(f"no scheduled change {schedule_id!r} (ids look like sch-0123456789ab)")
    return Address(SYSTEM_ENVIRONMENT, SCHEDULE_AREA, schedule_id)


def _check_schedulable(address: Address, operation: str, due_at: datetime) -> None:
    """Raise :class:`InvalidValueError` for an unknown operation or a ``due_at`` that is
    not a future, timezone-aware time, :class:`InvalidAddressError` for the system
    environment."""
    if operation not in OPERATIONS:
        raise InvalidValueError.single("operation", "must be one of set, patch, delete")
    check_due(due_at)
    if address.environment == SYSTEM_ENVIRONMENT:
        raise InvalidAddressError("changes of the system environment cannot be scheduled")


class StoreSchedule(StoreCommands, StoreReadModels):
    """Schedule, list and cancel changes. Raise :class:`InvalidValueError`,
    :class:`NotFoundError`, :class:`EntryStateError`, :class:`VersionConflictError`,
    :class:`SecretKeyError` or :class:`StorageError`; on any error nothing is appended."""

    def schedule_change(
        self,
        address: Address,
        operation: str,
        value: Any,
        *,
        due_at: datetime,
        provenance: Provenance,
        expected_version: int | None = None,
        may_reveal: bool = False,
    ) -> ScheduledView:
        """Record that ``operation`` (set, patch, delete) of ``address`` is to be applied
        at ``due_at`` (a future, timezone-aware time: else an error naming ``at``).

        A set or patch is validated against the target area now (a patch against the
        entry's current value, or on its own when there is none) and its secrets are
        sealed before they are stored: a plaintext secret anew (applying it is a change)
        unless the caller ``may_reveal`` secrets."""
        _check_schedulable(address, operation, due_at)
        prepared = self._prepared(address, operation, value, may_reveal=may_reveal)
        schedule_id = new_schedule_id()
        data = pending_change(
            address,
            operation,
            prepared,
            due_at=due_at,
            provenance=provenance,
            expected_version=expected_version,
        )
        self.set(schedule_address(schedule_id), data, provenance=provenance, expected_version=0)
        return self.scheduled(schedule_id)

    def _prepared(
        self, address: Address, operation: str, value: Any, *, may_reveal: bool
    ) -> JsonObject | None:
        """The value to record for ``operation`` of ``address``, checked against the entry
        as it is now and its secrets sealed (see :func:`sealed_change_value`)."""
        model = self.model_for(address)
        return sealed_change_value(
            model,
            address,
            operation,
            value,
            current=self.load(address),
            codec=self.codec,
            limits=self.limits_for(address.environment),
            may_reveal=may_reveal,
        )

    def scheduled(self, schedule_id: str, *, environment: str | None = None) -> ScheduledView:
        """One scheduled change, read from the log (never stale). Raises
        :class:`NotFoundError` when there is none (targeting ``environment``, if given)."""
        entry = self.load(schedule_address(schedule_id))
        if entry is None or entry.deleted:
            raise NotFoundError(f"no scheduled change {schedule_id!r}")
        change = self._parsed(schedule_id, entry.value)
        if environment is not None and change.environment != environment:
            raise NotFoundError(f"no scheduled change {schedule_id!r} in {environment!r}")
        with storage_errors():
            row = self.index.row(entry.id, entry.version)
        return self._views(
            [(schedule_id, change, entry.version, row.recorded_at if row else None)]
        )[0]

    def scheduled_changes(
        self,
        environment: str | None = None,
        *,
        include_done: bool = False,
        due_by: datetime | None = None,
    ) -> list[ScheduledView]:
        """Pending changes (``include_done``: all) targeting ``environment`` (``None``:
        every environment), due by ``due_by`` if given, by due time; read from the
        ``current`` projection, caught up first."""
        self.fresh(["current"])
        rows = self._select(
            "cc_current",
            (
                "SELECT key, stored, version, updated_at FROM {}"
                " WHERE environment = %s AND area = %s AND NOT deleted"
                " AND (%s::text IS NULL OR stored->>'environment' = %s::text)"
                " AND (%s OR COALESCE(stored->>'status', 'pending') = 'pending')"
                " AND (%s::timestamptz IS NULL"
                " OR (stored->>'due_at')::timestamptz <= %s::timestamptz)"
            ),
            (
                SYSTEM_ENVIRONMENT,
                SCHEDULE_AREA,
                environment,
                environment,
                include_done,
                due_by,
                due_by,
            ),
        )
        found = [(r[0], self._parsed(r[0], r[1]), r[2], r[3]) for r in rows]
        views = self._views(found)
        return sorted(views, key=lambda v: (v.change.due_at, v.id))

    def cancel_scheduled(
        self, schedule_id: str, *, provenance: Provenance, environment: str | None = None
    ) -> ScheduledView:
        """Cancel a pending change: it will never apply. Raises :class:`NotFoundError`
        and, when it is no longer pending, :class:`EntryStateError`."""
        address = schedule_address(schedule_id)
        for _ in SCHEDULE_RACE.tries():
            view = self.scheduled(schedule_id, environment=environment)
            if view.change.status != "pending":
                raise EntryStateError(
                    f"scheduled change {schedule_id} is {view.change.status};"
                    " only a pending change can be cancelled"
                )
            why = f": {provenance.reason}" if provenance.reason else ""
            entry = self.load(address)
            if entry is None or entry.version != view.version:
                continue  # applied or cancelled meanwhile: look again
            update = {
                "status": "cancelled",
                "result": clip(f"cancelled by {provenance.actor}{why}"),
            }
            try:
                self._finish(entry, provenance, update, None)
            except IntegrityError:
                self.entries.drop(entry.id)
                continue
            return self.scheduled(schedule_id)
        raise VersionConflictError(
            schedule_id, expected=None, current=None, detail=f"{schedule_id} kept changing; retry"
        )

    def _finish(
        self, entry: ConfigEntry, who: Provenance, update: JsonObject, target: ConfigEntry | None
    ) -> None:
        instance = validate(
            ScheduledChange,
            {**entry.value, **update},
            key=entry.key,
            limits=RECORDED_LIMITS,
        )
        entry.set(to_json(instance, sparse=True), who, ScheduledChange.schema_version)
        saved = [e for e in (target, entry) if e is not None]
        with storage_errors():
            self.app.save(*saved, addresses={e.id: e.address for e in saved})
        for item in saved:
            self.entries.put(item)

    def _parsed(self, schedule_id: str, stored: JsonObject) -> ScheduledChange:
        instance = validate(ScheduledChange, stored, key=schedule_id, limits=RECORDED_LIMITS)
        assert isinstance(instance, ScheduledChange)
        return instance

    def _views(self, found: list[tuple[str, ScheduledChange, int, Any]]) -> list[ScheduledView]:
        """Views of ``(id, change, version, updated_at)``, with the applied positions
        read from the event index in one query."""
        applied = [
            (c.target.entry_id, c.applied_version)
            for _, c, _, _ in found
            if c.applied_version is not None
        ]
        positions: dict[tuple[UUID, int], int] = {}
        if applied:
            rows = self._select(
                "cc_event_index",
                "SELECT entry_id, version, position FROM {} WHERE (entry_id, version) IN"
                " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))",
                ([a[0] for a in applied], [a[1] for a in applied]),
            )
            positions = {(r[0], r[1]): r[2] for r in rows}
        return [
            ScheduledView(
                id=schedule_id,
                change=change,
                version=version,
                updated_at=updated_at,
                applied_position=positions.get(
                    (change.target.entry_id, change.applied_version or 0)
                ),
            )
            for schedule_id, change, version, updated_at in found
        ]
