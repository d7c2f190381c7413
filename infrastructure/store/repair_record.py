"""The record of repairs (``cc_repairs``): who repaired, when, why, what was done and
which chain breaks the run acknowledged, so that ``verify`` lists those apart (only those
whose acknowledgement still matches the log, see :mod:`.repair_acks`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL
from psycopg.types.json import Jsonb

from domain.entry import Provenance
from infrastructure.persistence.audit import AuditKey
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import table
from infrastructure.store.base import StoreBase
from infrastructure.store.chain import ChainFinding, check_chain
from infrastructure.store.findings import Finding
from infrastructure.store.repair_acks import acknowledgeable, fingerprints, honoured
from infrastructure.store.repair_write import record_run

if TYPE_CHECKING:
    from infrastructure.store.repair import RepairReport

REPAIRS_TABLE = "cc_repairs"
# The projections a run rebuilds, caught up again past the run's own event.
_REBUILT = ("current", "audit")
_CHAIN = "chain: "


@dataclass(frozen=True)
class RepairRecord:
    """One row of ``cc_repairs``."""

    id: int
    repaired_at: Any
    actor: str
    reason: str | None
    source: str
    environment: str | None
    head: int
    actions: dict[str, Any]
    acknowledged_breaks: list[int]


def record_repair(store: StoreBase, report: RepairReport, provenance: Provenance) -> int:
    """Write the run to ``cc_repairs``, then append its own event (a ``repair_run`` entry
    of the system environment, see :func:`record_run`); returns its id. Raises
    :class:`StorageError`, :class:`VersionConflictError`."""
    query = SQL(
        "INSERT INTO {} (actor, reason, source, correlation_id, environment, head, actions,"
        " acknowledged_breaks, acknowledgement) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id"
    ).format(table(store.app.datastore, REPAIRS_TABLE))
    actions = report.to_json()
    for name in ("dry_run", "repair_id", "acknowledged_breaks", "event"):
        actions.pop(name)
    with storage_errors():
        head = store.projections.head()
        with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(
                query,
                (
                    provenance.actor,
                    provenance.reason,
                    provenance.source,
                    provenance.correlation_id,
                    report.plan.environment,
                    head,
                    Jsonb(actions),
                    report.acknowledged,
                    Jsonb(report.acknowledgement),
                ),
            )
            row = cur.fetchone()
    assert row is not None  # INSERT ... RETURNING answers its row
    report.repair_id = int(row["id"])
    _log_run(store, report, provenance, head)
    return report.repair_id


def _log_run(store: StoreBase, report: RepairReport, provenance: Provenance, head: int) -> None:
    """Append the run's own event (so the audit trail has every repair), note where in
    its ``cc_repairs`` row, and bring the projections the run rebuilt up to it."""
    entry, position = record_run(store, report, provenance, head)
    report.event = {"entry": entry, "position": position}
    query = SQL("UPDATE {} SET actions = actions || %s WHERE id = %s").format(
        table(store.app.datastore, REPAIRS_TABLE)
    )
    with storage_errors():
        with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(query, (Jsonb({"event": report.event}), report.repair_id))
        store.projections.catch_up(_REBUILT)


def chain_breaks(store: StoreBase, audit_key: bytes | None) -> list[ChainFinding]:
    """The chain breaks left once the log is repaired that a repair may acknowledge (not
    a break the audit key is needed to check, nor a rewritten chain)."""
    report = check_chain(store, audit_key=audit_key)
    return [f for f in report.findings if acknowledgeable(f.problem)]


def acknowledged_breaks(store: StoreBase) -> dict[int, int]:
    """Chain break position -> id of the (first) repair that acknowledged it.
    Raises :class:`StorageError`."""
    query = SQL(
        "SELECT position, MIN(id) AS id FROM (SELECT id, unnest(acknowledged_breaks)"
        " AS position FROM {}) AS a GROUP BY position"
    ).format(table(store.app.datastore, REPAIRS_TABLE))
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query)
        return {int(r["position"]): int(r["id"]) for r in cur.fetchall()}


def list_repairs(store: StoreBase, limit: int = 50) -> list[RepairRecord]:
    """The latest repairs, newest first. Raises :class:`StorageError`."""
    query = SQL(
        "SELECT id, repaired_at, actor, reason, source, environment, head, actions,"
        " acknowledged_breaks FROM {} ORDER BY id DESC LIMIT %s"
    ).format(table(store.app.datastore, REPAIRS_TABLE))
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query, (limit,))
        return [RepairRecord(**r) for r in cur.fetchall()]


def _honoured_breaks(
    store: StoreBase, findings: list[Finding], *, audit_key: bytes | None, keyed: bool
) -> dict[tuple[int, str], int]:
    """(position, chain problem) -> id of the first repair whose acknowledgement of it
    counts and still matches the log there."""
    positions = [f.position for f in findings if f.position is not None]
    if not any(f.problem.startswith(_CHAIN) for f in findings):
        return {}
    key = AuditKey(audit_key) if audit_key is not None else None
    query = SQL("SELECT id, acknowledgement FROM {} ORDER BY id").format(
        table(store.app.datastore, REPAIRS_TABLE)
    )
    with storage_errors():
        with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
            records = cur.execute(query).fetchall()
        now = fingerprints(store, positions)
    found: dict[tuple[int, str], int] = {}
    for record in records:
        for ack in honoured(record["acknowledgement"], key=key, keyed=keyed):
            if now.get(ack.position) == ack.fingerprint:
                found.setdefault((ack.position, _CHAIN + ack.problem), int(record["id"]))
    return found


def split_acknowledged(
    store: StoreBase,
    findings: list[Finding],
    *,
    audit_key: bytes | None = None,
    keyed: bool = False,
) -> tuple[list[Finding], list[tuple[Finding, int]]]:
    """``verify``'s findings without the chain breaks a repair acknowledged, and those
    breaks with the id of that repair (listed apart, not failing). An acknowledgement
    counts only for the same problem at the same position with the log there unchanged
    since, and, on a chain with keyed links (``keyed``), only when signed with
    ``audit_key``. Raises :class:`StorageError`."""
    known = _honoured_breaks(store, findings, audit_key=audit_key, keyed=keyed)
    kept: list[Finding] = []
    acknowledged: list[tuple[Finding, int]] = []
    for finding in findings:
        repair_id = (
            known.get((finding.position, finding.problem)) if finding.position is not None else None
        )
        if repair_id is not None:
            acknowledged.append((finding, repair_id))
        else:
            kept.append(finding)
    return kept, acknowledged
