"""The log's tamper-evident chain: its head, and a check of every link against the events.

Each event appended since migration 6 has a link in ``cc_chain`` (see
:mod:`infrastructure.persistence.audit`). :func:`check_chain` streams the events, their
index times and their links in position order and recomputes each link, so a modified,
deleted, inserted or reordered event is named by position. A deleted tail leaves a shorter
chain that verifies: only a head recorded earlier (``against``) finds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Composed, Identifier

from infrastructure.crypto import decode_key
from infrastructure.persistence.audit import AuditKey
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.factory import AUDIT_KEY_ENV, ConduitPostgresFactory
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.persistence.tables import table
from infrastructure.settings import Settings
from infrastructure.store.chain_check import (
    ChainChecker,
    ChainFinding,
    ChainHead,
    ChainReport,
    LogRow,
)

if TYPE_CHECKING:
    from infrastructure.store.base import StoreBase

__all__ = [
    "AUDIT_KEY_SETTING",
    "ChainFinding",
    "ChainHead",
    "ChainReport",
    "audit_env",
    "audit_key_of",
    "check_chain",
    "head",
    "head_json",
]

AUDIT_KEY_SETTING = "CONDUIT_CONFIG_AUDIT_KEY"
CHAIN_TABLE = "cc_chain"
#: Rows fetched from the server per round trip while streaming the log.
STREAM_BATCH = 2000


def head_json(found: ChainHead | None) -> dict[str, Any]:
    """``log head`` as JSON (CLI and HTTP): every member ``null`` (``keyed`` false)
    before the first chained event."""
    return {
        "position": found.position if found else None,
        "hash": found.hash if found else None,
        "keyed": found.keyed if found else False,
        "key_id": found.key_id if found else None,
        "head": found.text if found else None,
    }


def audit_key_of(settings: Settings) -> bytes | None:
    """The audit key of the settings; raises :class:`SettingsError` naming
    ``CONDUIT_CONFIG_AUDIT_KEY`` when it is not 32 bytes of base64url."""
    if settings.audit_key is None:
        return None
    return decode_key(settings.audit_key.get_secret_value(), source=AUDIT_KEY_SETTING)


def store_audit_key(store: StoreBase) -> bytes | None:
    """The audit key ``store`` appends with (``None`` without one)."""
    factory = store.app.factory
    return factory.audit_key if isinstance(factory, ConduitPostgresFactory) else None


def audit_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment entry passing the audit key to the recorder (none
    when unset); raises :class:`SettingsError` naming ``CONDUIT_CONFIG_AUDIT_KEY``."""
    key = audit_key_of(settings)
    return {AUDIT_KEY_ENV: AuditKey(key).to_text()} if key is not None else {}


def _tables(store: StoreBase) -> dict[str, Identifier | Composed]:
    datastore = store.app.datastore
    return {
        name: table(datastore, each)
        for name, each in (("c", CHAIN_TABLE), ("e", EVENTS_TABLE), ("i", INDEX_TABLE))
    }


def head(store: StoreBase) -> ChainHead | None:
    """The newest link of the chain (``None`` before the first chained event).
    Raises :class:`StorageError`."""
    query = SQL("SELECT position, hash, key_id FROM {c} ORDER BY position DESC LIMIT 1")
    with storage_errors(), store.app.datastore.get_connection() as conn:
        row = conn.execute(query.format(**_tables(store))).fetchone()
    return _head(row)


def _head(row: Any) -> ChainHead | None:
    if row is None:
        return None
    return ChainHead(int(row["position"]), bytes(row["hash"]).hex(), row["key_id"])


_SUMMARY = SQL(
    "SELECT (SELECT MIN(position) FROM {c}) AS start,"
    " (SELECT MIN(notification_id) FROM {e}) AS first_event,"
    " (SELECT MAX(notification_id) FROM {e}) AS last_event,"
    " (SELECT MAX(position) FROM {c}) AS last_link"
)
# Every position from the chain's start that has an event, a link or an index row; an
# index row alone is a deleted event whose link went with it.
_STREAM = SQL(
    "SELECT p.position, e.originator_id AS entry_id, e.originator_version AS version,"
    " e.topic, e.state, i.recorded_at, c.hash, c.key_id,"
    " e.notification_id IS NOT NULL AS has_event"
    " FROM (SELECT notification_id AS position FROM {e} WHERE notification_id >= %(start)s"
    "  UNION SELECT position FROM {c} WHERE position >= %(start)s"
    "  UNION SELECT position FROM {i} WHERE position >= %(start)s) AS p"
    " LEFT JOIN {e} e ON e.notification_id = p.position"
    " LEFT JOIN {c} c ON c.position = p.position"
    " LEFT JOIN {i} i ON i.position = p.position"
    " ORDER BY p.position"
)


def _row(raw: Any) -> LogRow:
    return LogRow(
        position=int(raw["position"]),
        entry_id=raw["entry_id"] if raw["has_event"] else None,
        version=raw["version"],
        topic=raw["topic"],
        state=bytes(raw["state"]) if raw["state"] is not None else None,
        recorded_at=raw["recorded_at"],
        hash=bytes(raw["hash"]) if raw["hash"] is not None else None,
        key_id=raw["key_id"],
    )


def check_chain(
    store: StoreBase, *, audit_key: bytes | None = None, against: ChainHead | None = None
) -> ChainReport:
    """Recompute every link from the chain's start (in one consistent snapshot, streaming:
    memory does not grow with the log) and report each problem at its first position.

    ``audit_key`` checks keyed links (without it they are reported as not checkable);
    ``against`` is a head recorded earlier that must still be a link of this chain.
    Raises :class:`StorageError`."""
    key = AuditKey(audit_key) if audit_key is not None else None
    checker = ChainChecker(key=key, against=against)
    tables = _tables(store)
    with storage_errors(), store.app.datastore.get_connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        summary = conn.execute(_SUMMARY.format(**tables)).fetchone()
        assert summary is not None  # an aggregate query always answers one row
        last = max(summary["last_event"] or 0, summary["last_link"] or 0)
        checker.report.start = summary["start"]
        if summary["start"] is not None:
            with conn.cursor(name="cc_check_chain") as cursor:
                cursor.itersize = STREAM_BATCH
                cursor.execute(_STREAM.format(**tables), {"start": summary["start"]})
                for raw in _rows(cursor):
                    checker.feed(_row(raw))
    return checker.finish(last_position=last, first_event=summary["first_event"])


def _rows(cursor: Any) -> Iterator[Any]:
    yield from cursor
