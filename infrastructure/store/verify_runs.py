"""The record of ``verify`` runs (table ``cc_verify_runs``): each run's time, who ran it
through which channel, what it checked and how many problems it found. Only counts and
the chain head are kept, never a finding's text (it names entries, not values, but the
console shows the count; ``verify`` itself shows the rest)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed

from infrastructure.errors import StorageError
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import table

if TYPE_CHECKING:
    from infrastructure.store.base import StoreBase
    from infrastructure.store.verify import VerifyReport

VERIFY_RUNS_TABLE = "cc_verify_runs"
log = logging.getLogger("conduit_config.verify")


@dataclass(frozen=True)
class VerifyRun:
    """One recorded run; ``environment`` ``None``: every environment."""

    ran_at: datetime
    actor: str
    source: str
    environment: str | None
    entries: int
    events: int
    problems: int
    quarantined: int
    head: str | None


def _table(store: StoreBase) -> Composed:
    return table(store.app.datastore, VERIFY_RUNS_TABLE)


def record_verify_run(
    store: StoreBase,
    report: VerifyReport,
    *,
    actor: str,
    source: str,
    environment: str | None,
) -> None:
    """Keep the outcome of a run. Raises :class:`StorageError`."""
    head = report.chain.head.text if report.chain and report.chain.head else None
    statement = SQL(
        "INSERT INTO {} (actor, source, environment, entries, events, problems, quarantined,"
        " head) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    ).format(_table(store))
    params = (
        actor,
        source,
        environment,
        report.entries,
        report.events,
        len(report.findings),
        len(report.quarantined),
        head,
    )
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.transaction():
        conn.execute(statement, params)


def note_verify_run(
    store: StoreBase,
    report: VerifyReport,
    *,
    actor: str,
    source: str,
    environment: str | None,
) -> None:
    """:func:`record_verify_run`, logging (not raising) a failure to record: the run's
    own answer matters more than its record."""
    try:
        record_verify_run(store, report, actor=actor, source=source, environment=environment)
    except StorageError as exc:
        log.warning("the verify run was not recorded: %s", exc)


def last_verify_run(store: StoreBase) -> VerifyRun | None:
    """The newest recorded run, ``None`` before the first. Raises :class:`StorageError`."""
    statement = SQL(
        "SELECT ran_at, actor, source, environment, entries, events, problems, quarantined,"
        " head FROM {} ORDER BY id DESC LIMIT 1"
    ).format(_table(store))
    with (
        storage_errors(),
        store.app.datastore.get_connection() as conn,
        conn.cursor(row_factory=tuple_row) as cur,
    ):
        cur.execute(statement)
        row = cur.fetchone()
    return VerifyRun(*row) if row else None
