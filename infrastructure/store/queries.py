"""Read side of the store: entries at any version or time, lists, history, diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.persistence import MapperDeserialisationError

from domain.address import Address
from domain.entry import ConfigEntry
from domain.environment import EntryState
from domain.errors import BrokenLogError, NotFoundError
from domain.replay import event_changes
from domain.values import json_diff
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.index import IndexRow
from infrastructure.store.views import EntryView, HistoryItem

VersionRef = int | datetime


class StoreQueries(StoreBase):
    """Queries. Raise :class:`NotFoundError` or :class:`StorageError`."""

    def get(
        self,
        address: Address,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        include_deleted: bool = False,
    ) -> EntryView:
        """The entry now, at ``version``, or as of a time."""
        self.model_for(address)
        if as_of is not None:
            version = self.version_at(address, as_of)
        entry = self.require(address, version)
        if entry.deleted and not include_deleted:
            where = f" at version {version}" if version else ""
            raise NotFoundError(f"{address} is deleted{where} (undelete restores it)")
        with storage_errors():
            row = self.index.row(entry.id, entry.version)
        return self._view(entry, row)

    def version_at(self, address: Address, at: datetime) -> int:
        """The version of an entry current at time ``at``."""
        with storage_errors():
            row = self.index.version_at(address.entry_id, at)
        if row is None:
            raise NotFoundError(f"{address} did not exist at {at.isoformat()}")
        return row.version

    def history(self, address: Address, *, limit: int | None = None) -> list[HistoryItem]:
        """Events of an entry, oldest first (the last ``limit`` when given). Raises
        :class:`BrokenLogError` when a version is missing or does not decode."""
        self.model_for(address)
        entry = self.load(address)
        if entry is None:
            raise NotFoundError(f"{address} not found in environment {address.environment!r}")
        entry_id = address.entry_id
        first = 1 if limit is None else max(1, entry.version - limit + 1)
        with storage_errors():
            rows = self.index.rows(entry_id, gt=first - 1)
            try:
                events = list(self.app.events.get(entry_id, gt=first - 1))
            except MapperDeserialisationError:
                events = []
        wanted = list(range(first, entry.version + 1))
        if [e.originator_version for e in events[: len(wanted)]] != wanted:
            self._refuse_broken(address)  # a gap a repair mended is not broken: shown as is
            if entry.version not in {e.originator_version for e in events}:
                raise BrokenLogError(
                    f"{address.environment}/{address}", None, "its events changed while read; retry"
                )
        items = []
        for event in events:
            assert isinstance(event, ConfigEntry.Event)
            items.append(_history_item(event, rows.get(event.originator_version)))
        return items

    def diff(
        self, address: Address, before: VersionRef, after: VersionRef, *, effective: bool = False
    ) -> list[dict[str, Any]]:
        """RFC 6902 operations from one version (or time) of an entry to another."""
        values = []
        for ref in (before, after):
            version = self.version_at(address, ref) if isinstance(ref, datetime) else ref
            view = self.get(address, version=version, include_deleted=True)
            values.append(view.value if effective else view.stored)
        return json_diff(values[0], values[1])

    def _view(self, entry: ConfigEntry, row: IndexRow | None) -> EntryView:
        """Raises :class:`StoredValueError` when the value cannot be served today."""
        meta = entry.last_meta
        position = row.position if row else 0
        # Checked as a live value even when deleted: a read of it shows the value.
        state = EntryState(entry.area, entry.key, entry.version, position, entry.value, False)
        value = self.serving.entry(entry.environment, state, complete=True, redacted=False)
        return EntryView(
            address=entry.address,
            version=entry.version,
            value=value,
            stored=dict(entry.value),
            deleted=entry.deleted,
            recorded_at=row.recorded_at if row else None,
            position=row.position if row else None,
            actor=str(meta.get("actor", "")),
            reason=meta.get("reason"),
            value_hash=str(meta.get("value_hash", "")),
        )


def _history_item(event: ConfigEntry.Event, row: IndexRow | None) -> HistoryItem:
    meta = event.meta
    return HistoryItem(
        version=event.originator_version,
        event=event.event_name,
        actor=meta.actor,
        reason=meta.reason,
        source=meta.source,
        correlation_id=meta.correlation_id,
        recorded_at=row.recorded_at if row else None,
        position=row.position if row else None,
        changes=event_changes(event),
        value_hash=meta.value_hash,
        target_version=getattr(event, "target_version", None),
    )
