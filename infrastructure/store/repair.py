"""``repair``: rebuild what is derived from the log (event index, projections, checkpoints)
and re-establish each entry whose own log is damaged by appending one event (source
``repair``), never editing history. Each run is recorded in ``cc_repairs`` with the chain
breaks it acknowledged, and as an event of the log (see :func:`record_repair`).

:func:`plan_repair` only reads; :func:`run_repair` carries a plan out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.entry import Provenance
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.persistence.tables import table
from infrastructure.store.base import StoreBase
from infrastructure.store.integrity import EntryLog, inspect_entry
from infrastructure.store.repair_acks import acknowledge
from infrastructure.store.repair_checkpoints import checkpoint_changed, drop_checkpoints
from infrastructure.store.repair_entries import EntryDamage, assess
from infrastructure.store.repair_index import IndexFix, apply_index, plan_index
from infrastructure.store.repair_record import (
    RepairRecord,
    acknowledged_breaks,
    chain_breaks,
    list_repairs,
    record_repair,
    split_acknowledged,
)
from infrastructure.store.repair_snapshots import BadSnapshot, bad_snapshots, drop_snapshots
from infrastructure.store.repair_write import Appended, reestablish

__all__ = [
    "RepairPlan",
    "RepairRecord",
    "RepairReport",
    "acknowledged_breaks",
    "list_repairs",
    "plan_repair",
    "record_repair",
    "run_repair",
    "split_acknowledged",
]

log = logging.getLogger("conduit_config.repair")
#: Projections rebuilt from the whole log by every repair that is not a dry run.
REBUILT = ("current", "audit")


@dataclass(frozen=True)
class NamedSnapshot:
    """A named snapshot taken at or after a damaged position of its environment (kept)."""

    environment: str
    name: str
    position: int
    damaged_from: int

    def to_json(self) -> dict[str, Any]:
        """Plain form for reports."""
        return dict(vars(self))


@dataclass
class RepairPlan:
    """What a repair of ``environment`` (``None``: every environment) would do."""

    environment: str | None
    index: list[IndexFix] = field(default_factory=list)
    entries: list[EntryDamage] = field(default_factory=list)
    snapshots: list[NamedSnapshot] = field(default_factory=list)
    damaged_from: dict[str, int] = field(default_factory=dict)
    bad_snapshots: list[BadSnapshot] = field(default_factory=list)

    @property
    def appends(self) -> list[EntryDamage]:
        """Entries re-established by a new event."""
        return [e for e in self.entries if e.action == "reestablish"]

    def to_json(self) -> dict[str, Any]:
        """Plain form for output (never a value)."""
        return {
            "environment": self.environment,
            "index": [f.to_json() for f in self.index],
            "entries": [e.to_json() for e in self.entries],
            "checkpoints_from": dict(sorted(self.damaged_from.items())),
            "named_snapshots_covering_damage": [s.to_json() for s in self.snapshots],
            "snapshots_dropped": [s.to_json() for s in self.bad_snapshots],
            "projections": list(REBUILT),
        }


@dataclass
class RepairReport:
    """What a run did (``repair_id`` ``None`` for a dry run)."""

    plan: RepairPlan
    dry_run: bool
    appended: list[Appended] = field(default_factory=list)
    checkpoints: int = 0
    checkpoints_dropped: int = 0
    quarantine_released: int = 0
    projections: dict[str, int] = field(default_factory=dict)
    mirror: int | None = None
    acknowledged: list[int] = field(default_factory=list)
    acknowledgement: dict[str, Any] = field(default_factory=dict)
    repair_id: int | None = None
    event: dict[str, Any] | None = None  # the run's own event: entry, position

    def to_json(self) -> dict[str, Any]:
        """Plain form for output (never a value)."""
        return {
            "dry_run": self.dry_run,
            "repair_id": self.repair_id,
            **self.plan.to_json(),
            "appended": [vars(a) for a in self.appended],
            "checkpoints_written": self.checkpoints,
            "checkpoints_dropped": self.checkpoints_dropped,
            "quarantine_released": self.quarantine_released,
            "projections_rebuilt": self.projections,
            "mirror_events": self.mirror,
            "acknowledged_breaks": self.acknowledged,
            "event": self.event,
        }


def plan_repair(store: StoreBase, environment: str | None) -> RepairPlan:
    """Find the damage (only reads). Raises :class:`StorageError`."""
    plan = RepairPlan(environment)
    with storage_errors():
        plan.index = plan_index(store.app.datastore, store.app.mapper)
        for entry_id in _entry_ids(store):
            entry_log = inspect_entry(store, entry_id)
            found = _assess(store, entry_log)
            if found is not None and _in_scope(found, environment):
                plan.entries.append(found)
            if environment in (None, entry_log.environment):
                plan.bad_snapshots += bad_snapshots(store, entry_log)
        _damaged_from(store, plan)
        plan.snapshots = _named_covering(store, plan.damaged_from)
    return plan


def _entry_ids(store: StoreBase) -> list[UUID]:
    """Every entry any table names: events, index rows, the ``current`` projection."""
    query = SQL(
        "SELECT originator_id FROM {} UNION SELECT entry_id FROM {} UNION SELECT entry_id FROM {}"
    ).format(
        table(store.app.datastore, EVENTS_TABLE),
        table(store.app.datastore, INDEX_TABLE),
        table(store.app.datastore, "cc_current"),
    )
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query)
        return sorted(row["originator_id"] for row in cur.fetchall())


def _assess(store: StoreBase, log: EntryLog) -> EntryDamage | None:
    found = assess(log, {})
    if found.damaged and log.snapshot_versions:
        found = assess(log, _snapshots(store, log.entry_id))
    return found if found.damaged else None


def _snapshots(store: StoreBase, entry_id: UUID) -> dict[int, tuple[Any, bool]]:
    """Version -> (value, deleted) of the entry's snapshots that decode."""
    if store.app.snapshots is None:
        return {}
    found = {}
    for stored in store.app.snapshots.recorder.select_events(entry_id):
        try:
            snapshot = store.app.mapper.to_domain_event(stored)
            state = snapshot.state  # type: ignore[attr-defined]
            found[stored.originator_version] = (dict(state["value"]), bool(state["deleted"]))
        except Exception as exc:  # a snapshot we cannot read proves nothing
            log.info("snapshot %s of %s unread (%s)", stored.originator_version, entry_id, exc)
    return found


def _in_scope(found: EntryDamage, environment: str | None) -> bool:
    if found.address is None:
        return environment is None
    if environment is None:
        return True
    return found.address.environment == environment


def _damaged_from(store: StoreBase, plan: RepairPlan) -> None:
    """Per environment, the first damaged log position (checkpoints from there on are
    recomputed)."""
    for entry in plan.entries:
        if entry.address is not None and entry.positions:
            env = entry.address.environment
            first = min(entry.positions)
            plan.damaged_from[env] = min(plan.damaged_from.get(env, first), first)
    for fix in plan.index:
        where = fix.row.environment if fix.row is not None else None
        for name in [where] if where else _envs_at(store, fix.position):
            if plan.environment in (None, name):
                before = plan.damaged_from.get(name, fix.position)
                plan.damaged_from[name] = min(before, fix.position)


def _envs_at(store: StoreBase, position: int) -> list[str]:
    query = SQL("SELECT environment FROM {} WHERE position = %s").format(
        table(store.app.datastore, INDEX_TABLE)
    )
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query, (position,))
        return [str(r["environment"]) for r in cur.fetchall()]


def _named_covering(store: StoreBase, damaged_from: dict[str, int]) -> list[NamedSnapshot]:
    query = SQL(
        "SELECT environment, name, position FROM {} WHERE name IS NOT NULL"
        " AND environment = %s AND position >= %s ORDER BY position"
    ).format(table(store.app.datastore, "cc_checkpoints"))
    found = []
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        for env, first in sorted(damaged_from.items()):
            cur.execute(query, (env, first))
            found += [NamedSnapshot(r["environment"], r["name"], r["position"], first) for r in cur]
    return found


def run_repair(
    store: StoreBase,
    plan: RepairPlan,
    provenance: Provenance,
    *,
    audit_key: bytes | None = None,
) -> RepairReport:
    """Carry ``plan`` out: the index, then one event per entry to re-establish (and its
    snapshot; the entry leaves quarantine), then the projections and checkpoints; record
    the run. Raises :class:`StorageError`."""
    report = RepairReport(plan, dry_run=False)
    quarantined = _quarantined_ids(store, plan.environment)
    with storage_errors():
        apply_index(store.app.datastore, plan.index)
        drop_snapshots(store, plan.bad_snapshots)
    for snapshot in plan.bad_snapshots:
        store.entries.drop(snapshot.entry_id)
    for entry in plan.appends:
        report.appended.append(reestablish(store, entry, provenance))
    for entry in plan.entries:
        store.entries.drop(entry.entry_id)
        if entry.action == "remove":
            _settle_unrepairable(store, entry)
    with storage_errors():
        report.checkpoints_dropped = drop_checkpoints(store, plan.damaged_from)
        for name in REBUILT:
            report.projections[name] = store.projections.rebuild(name)
        report.checkpoints = checkpoint_changed(store)
    _release_mended(store, plan.environment)
    report.quarantine_released = len(quarantined - _quarantined_ids(store, plan.environment))
    breaks = chain_breaks(store, audit_key)
    with storage_errors():
        report.acknowledgement = acknowledge(store, breaks, audit_key)
    report.acknowledged = sorted({b.position for b in breaks})
    return report


def _quarantined_ids(store: StoreBase, environment: str | None) -> set[UUID]:
    return {entry.entry_id for entry in store.quarantined(environment)}


def _release_mended(store: StoreBase, environment: str | None) -> None:
    """Take out of quarantine every entry of the scope whose log is whole again (e.g. it
    was quarantined for an index row the index rewrite fixed)."""
    for entry in store.quarantined(environment):
        with storage_errors():
            found = inspect_entry(store, entry.entry_id)
        if not found.broken:
            store.release(entry.entry_id)
            store.entries.drop(entry.entry_id)


def _settle_unrepairable(store: StoreBase, entry: EntryDamage) -> None:
    """An entry left with no events has no rows once rebuilt: out of quarantine. One whose
    events prove nothing stays quarantined (reads refuse it, lists report it)."""
    if not entry.has_events:
        store.release(entry.entry_id)
    elif entry.address is not None:
        where = min(entry.positions) if entry.positions else None
        name = f"{entry.address.environment}/{entry.address.area}/{entry.address.key}"
        store.quarantine(entry.entry_id, name, where, entry.reason)
