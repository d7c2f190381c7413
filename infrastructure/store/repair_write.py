"""Appending the one event that re-establishes a damaged entry, and the snapshot that lets
loads start after the versions its log lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from domain.address import Address
from domain.entry import ConfigEntry, EventMeta, Provenance
from domain.errors import ConfigStoreError, VersionConflictError
from domain.stored import BrokenEntry
from domain.values import JsonObject, json_diff, value_hash
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.tolerant import replay_entry
from infrastructure.store.base import StoreBase
from infrastructure.store.repair_entries import EntryDamage

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
