"""Appending the one event that re-establishes a damaged entry, and the snapshot that lets
loads start after the versions its log lacks; and the event that records a whole run
(a ``repair_run`` entry of the system environment), so every run is in the audit trail."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from eventsourcing.persistence import IntegrityError

from domain.address import SYSTEM_ENVIRONMENT, Address
from domain.areas.repair_run import MAX_LISTED, RepairRun
from domain.entry import ConfigEntry, EventMeta, Provenance
from domain.errors import ConfigStoreError, VersionConflictError
from domain.stored import BrokenEntry
from domain.values import JsonObject, json_diff, normalize, value_hash
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.tolerant import replay_entry
from infrastructure.retry import REPAIR_RUN_KEY
from infrastructure.store.base import StoreBase
from infrastructure.store.repair_entries import EntryDamage

if TYPE_CHECKING:
    from infrastructure.store.repair import RepairReport

_MAX_REASON = 2000


@dataclass(frozen=True)
class Appended:
    """The event a repair appended to one entry."""

    entry: str
    version: int
    position: int
    target_version: int
    deleted: bool
    reason: str


def reestablish(store: StoreBase, damage: EntryDamage, provenance: Provenance) -> Appended:
    """Append ``Reestablished`` at version ``latest + 1`` with the proven state, write a
    snapshot at that version (eventsourcing refuses to replay across a missing version)
    and take the entry out of quarantine. Raises :class:`VersionConflictError` if another
    writer appended first, :class:`StorageError`."""
    address, proven = damage.address, damage.proven
    assert address is not None and proven is not None  # only planned when both are known
    reason = damage.reason
    if provenance.reason:
        reason = f"{reason} ({provenance.reason})"
    entry = ConfigEntry.resume(
        address,
        version=damage.latest,
        value=proven.value,
        deleted=proven.deleted,
        modified_on=datetime.now(UTC),
    )
    meta = EventMeta(
        actor=provenance.actor,
        reason=reason[:_MAX_REASON],
        source="repair",
        correlation_id=provenance.correlation_id,
        schema_version=_schema_version(store, address),
        value_hash=value_hash(proven.value),
    )
    entry.trigger_event(
        ConfigEntry.Reestablished,
        target_version=proven.version,
        value=proven.value,
        deleted=proven.deleted,
        changes=json_diff(_shown(store, address), proven.value),
        meta=meta,
    )
    position = _save(store, entry, address)
    store.entries.drop(address.entry_id)
    store.release(address.entry_id)
    return Appended(
        f"{address.environment}:{address}",
        entry.version,
        position,
        proven.version,
        proven.deleted,
        meta.reason or "",
    )


def _save(store: StoreBase, entry: ConfigEntry, address: Address) -> int:
    try:
        with storage_errors():
            recordings = store.app.save(entry, addresses={entry.id: address})
            snapshots = store.app.snapshots
            # The application takes one itself at multiples of its interval.
            if snapshots is not None and entry.version % store.app.snapshot_interval:
                snapshots.put([ConfigEntry.Snapshot.take(entry)])
    except IntegrityError:
        raise VersionConflictError(
            str(address),
            expected=entry.version - 1,
            current=None,
            detail=f"{address.environment}:{address}: another writer appended version"
            f" {entry.version} first; run repair again",
        ) from None
    return int(recordings[-1].notification.id)


def _schema_version(store: StoreBase, address: Address) -> int:
    try:
        return store.area_model(address.environment, address.area).schema_version
    except ConfigStoreError:  # an area no longer registered: the value stays as it was
        return 1


def _shown(store: StoreBase, address: Address) -> JsonObject:
    """The value reads made of the damaged log (empty when they could make none), so the
    event's changes say what the repair changed for readers."""
    with storage_errors():
        stored = store.app.recorder.select_events(address.entry_id)
    state, _ = replay_entry(store.app.mapper, address, stored)
    if state is None or isinstance(state, BrokenEntry):
        return {}
    return dict(state.stored)


def record_run(
    store: StoreBase, report: RepairReport, provenance: Provenance, head: int
) -> tuple[str, int]:
    """Append the run's own event: a new ``repair_run`` entry of the system environment
    keyed by its repair id (source ``repair``; the run's actor, reason and correlation
    id). Returns the entry (``_system:repair_run/ID``) and the event's log position.
    Raises :class:`InvalidValueError` (never: the value is built within the bounds),
    :class:`VersionConflictError` if every key tried was taken, :class:`StorageError`."""
    assert report.repair_id is not None  # recorded in cc_repairs first
    limits = store.limits_for(SYSTEM_ENVIRONMENT)
    value = run_value(report, provenance, head, max_chars=limits.max_string_chars)
    who = provenance.model_copy(update={"source": "repair"})
    key = str(report.repair_id)
    for _ in REPAIR_RUN_KEY.tries():
        address = Address(SYSTEM_ENVIRONMENT, RepairRun.area_name, key)
        stored = normalize(RepairRun, value, key=key, limits=limits)
        entry = ConfigEntry.create(address, stored, who, RepairRun.schema_version)
        try:
            with storage_errors():
                recordings = store.app.save(entry, addresses={entry.id: address})
        except IntegrityError:
            with storage_errors():
                taken = store.app.recorder.select_events(address.entry_id, limit=1)
            if taken:
                key = f"{report.repair_id}-{secrets.token_hex(4)}"
            continue
        return f"{SYSTEM_ENVIRONMENT}:{address}", int(recordings[-1].notification.id)
    raise VersionConflictError(
        f"{RepairRun.area_name}/{report.repair_id}",
        expected=0,
        current=None,
        detail=f"repair {report.repair_id}: its run could not be appended to the log; retry",
    )


def run_value(
    report: RepairReport, provenance: Provenance, head: int, *, max_chars: int
) -> JsonObject:
    """The ``repair_run`` value of a run: who, why, scope and counts of what each step
    did, with at most :data:`MAX_LISTED` acknowledged positions (and their count). The
    reason is cut to ``max_chars`` (the store's longest string; the event's own reason
    keeps it whole)."""
    plan = report.plan
    reason = provenance.reason[:max_chars] if provenance.reason else provenance.reason
    removed = [e for e in plan.entries if e.action == "remove"]
    return {
        "repair_id": report.repair_id,
        "actor": provenance.actor,
        "reason": reason,
        "channel": provenance.source,
        "scope": plan.environment or "*",
        "head": head,
        "index_rows_fixed": len(plan.index),
        "entries_reestablished": len(report.appended),
        "entries_removed": sum(1 for e in removed if not e.has_events),
        "entries_left_quarantined": sum(1 for e in removed if e.has_events),
        "snapshots_dropped": len(plan.bad_snapshots),
        "checkpoints_dropped": report.checkpoints_dropped,
        "checkpoints_written": report.checkpoints,
        "quarantine_released": report.quarantine_released,
        "mirror_events": report.mirror,
        "acknowledged_breaks": report.acknowledged[:MAX_LISTED],
        "acknowledged_break_count": len(report.acknowledged),
    }
