"""The record of repairs (``cc_repairs``): who repaired, when, why, what was done and
which chain breaks the run acknowledged, so that ``verify`` lists those apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from domain.entry import Provenance
from infrastructure.persistence.errors import storage_errors
from infrastructure.store.base import StoreBase
from infrastructure.store.chain import check_chain
from infrastructure.store.findings import Finding

if TYPE_CHECKING:
    from infrastructure.store.repair import RepairReport

REPAIRS_TABLE = "cc_repairs"
_UNCHECKABLE = "cannot check keyed links"


def _table(store: StoreBase) -> Composed:
    return SQL("{}.{}").format(Identifier(store.app.datastore.schema), Identifier(REPAIRS_TABLE))


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
    """Write the run to ``cc_repairs``; returns its id. Raises :class:`StorageError`."""
    query = SQL(
        "INSERT INTO {} (actor, reason, source, correlation_id, environment, head, actions,"
        " acknowledged_breaks) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
    ).format(_table(store))
    actions = report.to_json()
    for name in ("dry_run", "repair_id", "acknowledged_breaks"):
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
                ),
            )
            row = cur.fetchone()
    assert row is not None  # INSERT ... RETURNING answers its row
    report.repair_id = int(row["id"])
    return report.repair_id


def chain_breaks(store: StoreBase, audit_key: bytes | None) -> list[int]:
    """Positions of the chain breaks left once the log is repaired (a break the audit key
    is needed to check is not acknowledged)."""
    report = check_chain(store, audit_key=audit_key)
    return sorted(
        {
            f.position
            for f in report.findings
            if not f.problem.startswith(_UNCHECKABLE) and not f.problem.startswith("...")
        }
    )


def acknowledged_breaks(store: StoreBase) -> dict[int, int]:
    """Chain break position -> id of the (first) repair that acknowledged it.
    Raises :class:`StorageError`."""
    query = SQL(
        "SELECT position, MIN(id) AS id FROM (SELECT id, unnest(acknowledged_breaks)"
        " AS position FROM {}) AS a GROUP BY position"
    ).format(_table(store))
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query)
        return {int(r["position"]): int(r["id"]) for r in cur.fetchall()}


def list_repairs(store: StoreBase, limit: int = 50) -> list[RepairRecord]:
    """The latest repairs, newest first. Raises :class:`StorageError`."""
    query = SQL(
        "SELECT id, repaired_at, actor, reason, source, environment, head, actions,"
        " acknowledged_breaks FROM {} ORDER BY id DESC LIMIT %s"
    ).format(_table(store))
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query, (limit,))
        return [RepairRecord(**r) for r in cur.fetchall()]


def split_acknowledged(
    store: StoreBase, findings: list[Finding]
) -> tuple[list[Finding], list[tuple[Finding, int]]]:
    """``verify``'s findings without the chain breaks a repair acknowledged, and those
    breaks with the id of that repair (listed apart, not failing). Raises
    :class:`StorageError`."""
    known = acknowledged_breaks(store)
    kept: list[Finding] = []
    acknowledged: list[tuple[Finding, int]] = []
    for finding in findings:
        repair_id = known.get(finding.position) if finding.position is not None else None
        if repair_id is not None and finding.problem.startswith("chain: "):
            acknowledged.append((finding, repair_id))
        else:
            kept.append(finding)
    return kept, acknowledged
