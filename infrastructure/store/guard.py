"""The cheap checks a single-entry read or write makes before trusting a loaded entry,
and the error it raises when the entry's log is broken.

A full inspection reads every row of the entry; reads only pay for one small query
(the index's latest version, the quarantine row, whether a ``current`` row exists) and
inspect only when that query and the loaded entry disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import ConfigEntry
from domain.errors import BrokenLogError
from domain.values import value_hash
from infrastructure.errors import StorageError
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.recorder import INDEX_TABLE
from infrastructure.store.integrity import StoreLike, inspect_entry
from infrastructure.store.quarantine import QUARANTINE_TABLE, QuarantinedEntry, QuarantineTable

log = logging.getLogger("conduit_config.integrity")


@dataclass(frozen=True)
class LogMarks:
    """What the index, the quarantine and the ``current`` table say about one entry."""

    indexed: int | None  # the index's latest version
    quarantined: QuarantinedEntry | None
    current: bool  # whether the current read model has a row

    def disagree(self, loaded: int | None, version: int | None) -> bool:
        """Whether an entry loaded at ``loaded`` (``None``: no events), asked for at
        ``version`` (``None``: the latest), contradicts these marks."""
        if loaded is None:
            return self.indexed is not None or self.current
        indexed = self.indexed or 0
        return loaded != (indexed if version is None else min(version, indexed))


def read_marks(datastore: PostgresDatastore, entry_id: UUID) -> LogMarks:
    """One round trip. Database errors propagate as eventsourcing's."""
    schema = Identifier(datastore.schema)
    query = SQL(
        "SELECT (SELECT MAX(version) FROM {s}.{i} WHERE entry_id = %(e)s) AS indexed,"
        " EXISTS (SELECT 1 FROM {s}.cc_current WHERE entry_id = %(e)s) AS current,"
        " q.environment, q.area, q.key, q.position, q.problem"
        " FROM (SELECT 1) one LEFT JOIN {s}.{q} q ON q.entry_id = %(e)s"
    ).format(s=schema, i=Identifier(INDEX_TABLE), q=Identifier(QUARANTINE_TABLE))
    with datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(query, {"e": entry_id}, prepare=True)
        row = curs.fetchone()
    assert row is not None  # one row always
    quarantined = None
    if row["problem"] is not None:
        quarantined = QuarantinedEntry(
            entry_id, row["environment"], row["area"], row["key"], row["position"], row["problem"]
        )
    indexed = int(row["indexed"]) if row["indexed"] is not None else None
    return LogMarks(indexed, quarantined, bool(row["current"]))


def value_matches(entry: ConfigEntry) -> bool:
    """Whether a loaded entry's value hashes to what its last event recorded: an event
    (or the snapshot it was loaded from) whose value was changed behind the store's back
    without its hash does not. An entry with no recorded hash passes."""
    recorded = entry.last_meta.get("value_hash")
    if not isinstance(recorded, str):
        return True
    try:
        return value_hash(entry.value) == recorded
    except (TypeError, ValueError, RecursionError):  # a value too deep or odd to hash
        return False


def quarantined_error(entry: QuarantinedEntry) -> BrokenLogError:
    """The error of a read of a quarantined entry."""
    return BrokenLogError(entry.name, entry.position, entry.problem)


def broken_error(
    store: StoreLike, table: QuarantineTable, address: Address
) -> BrokenLogError | None:
    """Inspect the entry's whole log; when it is broken, quarantine it (best effort: a
    read must still answer when the database refuses the write) and return the error
    naming the first bad position. Raises :class:`StorageError`."""
    with storage_errors():
        found = inspect_entry(store, address.entry_id)
    first = found.first_problem
    if first is None:
        return None
    name = f"{address.environment}/{address.area}/{address.key}"
    try:
        with storage_errors():
            table.quarantine(address.entry_id, name, first.position, first.problem)
    except StorageError as exc:
        log.warning("could not record %s as broken: %s", name, exc)
    return BrokenLogError(name, first.position, first.problem)
