"""``verify``: prove the log end to end.

Every entry's own log is inspected (versions 1..N, each event decodes and matches its
value hash, the event index agrees with the events, the ``current`` row describes the
last event), every snapshot is compared with the replayed events, the current value must
be servable, and the tamper-evident chain is recomputed from its start (and checked
against a head recorded earlier). An entry whose log is broken is quarantined. Values
still sealed under a retired key are listed (not a problem).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError
from psycopg.sql import SQL, Identifier

from domain.environment import EntryState
from domain.replay import deleted_after
from domain.secrets import sealed_places
from domain.stored import StoredValueError, check_stored
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.chain import ChainHead, ChainReport, check_chain
from infrastructure.store.findings import Finding
from infrastructure.store.integrity import EntryLog, inspect_entry
from infrastructure.store.repair_record import split_acknowledged

__all__ = ["Finding", "RetiredKey", "StoreVerifier", "VerifyReport"]


@dataclass(frozen=True)
class RetiredKey:
    """A secret of an entry's current value sealed under a key other than the current
    one (``key_id`` ``None``: the old ``enc:v1`` format, which names no key)."""

    entry: str
    field: str
    key_id: str | None

    def to_json(self) -> dict[str, str | None]:
        """``{entry, field, key_id}``."""
        return {"entry": self.entry, "field": self.field, "key_id": self.key_id}


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found. ``chain`` is ``None`` when the chain
    was not checked; ``predating``: events older than the chain's first link."""

    entries: int = 0
    events: int = 0
    snapshots: int = 0
    findings: list[Finding] = field(default_factory=list)
    chain: ChainReport | None = None
    predating: int = 0
    retired_keys: list[RetiredKey] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    #: Chain breaks a repair acknowledged, with its id: listed apart, not problems.
    acknowledged: list[tuple[Finding, int]] = field(default_factory=list)

    def chain_json(self) -> dict[str, Any] | None:
        """``{start, keyed_from, head, predating, links, unchained}``."""
        if self.chain is None:
            return None
        head = self.chain.head
        return {
            "start": self.chain.start,
            "keyed_from": self.chain.keyed_from,
            "head": head.text if head is not None else None,
            "predating": self.predating,
            "links": self.chain.links,
            "unchained": self.chain.unchained,
        }

    def chain_text(self) -> str:
        """One line saying where the chain starts and where its head is."""
        if self.chain is None:
            return "chain not checked"
        if self.chain.start is None:
            return f"no chain yet ({self.predating} event(s) predate it)"
        keyed = (
            f"; keyed from position {self.chain.keyed_from}"
            if self.chain.keyed_from is not None
            else "; not keyed"
        )
        head = self.chain.head.text if self.chain.head is not None else "-"
        return (
            f"chain starts at position {self.chain.start}; {self.predating} earlier event(s)"
            f" predate it{keyed}; head {head}"
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``verify --json`` and ``POST /v1/verify``."""
        return {
            "entries": self.entries,
            "events": self.events,
            "snapshots": self.snapshots,
            "problems": [f.to_json() for f in self.findings],
            "chain": self.chain_json(),
            "retired_keys": [r.to_json() for r in self.retired_keys],
            "quarantined": self.quarantined,
            "acknowledged_breaks": [
                {**f.to_json(), "repair_id": repair_id} for f, repair_id in self.acknowledged
            ],
        }


class StoreVerifier(StoreBase):
    """Checks the log against itself, its index, its chain and its derived rows."""

    def verify(
        self,
        environment: str | None = None,
        *,
        audit_key: bytes | None = None,
        against: ChainHead | None = None,
        chain: bool = True,
    ) -> VerifyReport:
        """Check every entry (of one environment, or all) and the chain (the whole log:
        it is one). Raises :class:`StorageError`."""
        report = VerifyReport()
        for entry_id in self._entry_ids(environment):
            with storage_errors():
                found = inspect_entry(self, entry_id)
            if environment is not None and found.environment != environment:
                continue  # events without index rows, of another environment
            self._verify_entry(found, report)
        if chain:
            report.chain = check_chain(self, audit_key=audit_key, against=against)
            report.predating = self._predating(report.chain.start)
            report.findings.extend(self._chain_findings(report.chain))
            report.findings, report.acknowledged = split_acknowledged(
                self,
                report.findings,
                audit_key=audit_key,
                keyed=report.chain.keyed_from is not None,
            )
        return report

    def _entry_ids(self, environment: str | None) -> list[UUID]:
        """Entries of the index (of ``environment``), and entries the index does not know:
        events without index rows, ``current`` rows without index rows."""
        s = Identifier(self.datastore.schema)
        query = SQL(
            "SELECT entry_id FROM {s}.{i} WHERE %(env)s::text IS NULL OR environment = %(env)s"
            " UNION SELECT originator_id FROM {s}.{e} e WHERE NOT EXISTS"
            "  (SELECT 1 FROM {s}.{i} i WHERE i.entry_id = e.originator_id)"
            " UNION SELECT entry_id FROM {s}.cc_current c"
            "  WHERE (%(env)s::text IS NULL OR environment = %(env)s) AND NOT EXISTS"
            "  (SELECT 1 FROM {s}.{i} i WHERE i.entry_id = c.entry_id)"
        ).format(s=s, i=Identifier(INDEX_TABLE), e=Identifier(EVENTS_TABLE))
        with storage_errors(), self.datastore.get_connection() as conn:
            rows = conn.execute(query, {"env": environment}).fetchall()
        return sorted(r["entry_id"] for r in rows)

    def _verify_entry(self, found: EntryLog, report: VerifyReport) -> None:
        report.entries += 1
        report.events += len(found.events)
        report.findings.extend(found.problems)
        report.findings.extend(found.projection_problems)
        self._verify_snapshots(found, report)
        first = found.first_problem
        if first is not None:
            if found.environment is not None:  # else no row names its address
                self.quarantine(found.entry_id, found.name, first.position, first.problem)
                report.quarantined.append(found.name)
            return
        latest = _latest(found)
        if latest is not None and found.environment is not None and not latest.deleted:
            self._verify_servable(found.environment, latest, found.label, report)

    def _verify_servable(
        self, environment: str, entry: EntryState, label: str, report: VerifyReport
    ) -> None:
        """The current value must be valid under today's rules (reads leave it out
        otherwise), its secrets must open with this store's key; secrets sealed under
        another key than the current one are listed."""
        try:
            self.serving.entry(environment, entry, opened=True)
        except StoredValueError as exc:
            problem = f"stored value is not valid under the current rules: {exc.reason}"
            report.findings.append(Finding(label, entry.version, problem, entry.position))
            return
        report.retired_keys.extend(self._retired(environment, entry, label))

    def _retired(self, environment: str, entry: EntryState, label: str) -> list[RetiredKey]:
        key_id_of, current = retired_key_probe(self.codec)
        if key_id_of is None:
            return []
        model = self.area_model(environment, entry.area)
        instance = check_stored(model, entry.key, entry.stored, limits=self.limits_for(environment))
        found = []
        for path, sealed in sealed_places(instance, entry.stored):
            if key_id_of(sealed) != current:
                where = ".".join(str(p) for p in path)
                found.append(RetiredKey(label, where, key_id_of(sealed)))
        return found

    def _verify_snapshots(self, found: EntryLog, report: VerifyReport) -> None:
        if self.app.snapshots is None or not found.snapshot_versions:
            return
        try:
            with storage_errors():
                snapshots = list(self.app.snapshots.get(found.entry_id))
        except MapperDeserialisationError as exc:
            report.findings.append(Finding(found.label, None, f"snapshot does not decode: {exc}"))
            return
        for snapshot in snapshots:
            report.snapshots += 1
            version = snapshot.originator_version
            if version > found.intact_through or version not in found.values:
                continue  # its events are damaged (or were, before a repair)
            state = getattr(snapshot, "state", {})
            if not isinstance(state, dict) or state.get("value") != found.values.get(version):
                report.findings.append(
                    Finding(found.label, version, "snapshot differs from the replayed events")
                )

    def _predating(self, start: int | None) -> int:
        """Events older than the chain's first link (all of them before it has one)."""
        query = SQL(
            "SELECT COUNT(*) AS n FROM {}.{}"
            " WHERE %(start)s::bigint IS NULL OR notification_id < %(start)s::bigint"
        ).format(Identifier(self.datastore.schema), Identifier(EVENTS_TABLE))
        with storage_errors(), self.datastore.get_connection() as conn:
            row = conn.execute(query, {"start": start}).fetchone()
        return int(row["n"]) if row else 0

    def _chain_findings(self, chain: ChainReport) -> list[Finding]:
        """The chain's findings, each named by the entry its position's index row names
        (``log`` when none does)."""
        positions = [f.position for f in chain.findings]
        query = SQL(
            "SELECT position, environment, area, key FROM {}.{} WHERE position = ANY(%s)"
        ).format(Identifier(self.datastore.schema), Identifier(INDEX_TABLE))
        with storage_errors(), self.datastore.get_connection() as conn:
            rows = conn.execute(query, (positions,)).fetchall() if positions else []
        names = {r["position"]: f"{r['environment']}:{r['area']}/{r['key']}" for r in rows}
        return [
            Finding(names.get(f.position, "log"), None, f"chain: {f.problem}", f.position)
            for f in chain.findings
        ]


def _latest(found: EntryLog) -> EntryState | None:
    """The entry's state after its last (intact) event."""
    if found.area is None or found.key is None or not found.events:
        return None
    deleted = False
    for item in found.events:
        if item.event is not None:
            deleted = deleted_after(deleted, item.event)
    last = found.events[-1]
    value = found.values.get(last.version, {})
    return EntryState(found.area, found.key, last.version, last.position, value, deleted)


def retired_key_probe(codec: object) -> tuple[Any, str | None]:
    """The codec's ``key_id_of`` and ``current_id``, or ``(None, None)`` for a codec
    that does not name its keys (then no value is listed as sealed under a retired key)."""
    key_id_of = getattr(codec, "key_id_of", None)
    current = getattr(codec, "current_id", None)
    if not callable(key_id_of) or not isinstance(current, str):
        return None, None
    return key_id_of, current
