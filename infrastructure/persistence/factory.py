"""eventsourcing's PostgreSQL factory as this store uses it: events appended by the
:class:`~infrastructure.persistence.recorder.IndexingRecorder` (keyed with the audit key
when one is set), snapshots by a recorder that retries a lost connection, and a
:class:`GuardedPool` with bounded waits. The ``CONDUIT_*`` keys below are what it reads
from the application's environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresFactory
from eventsourcing.utils import Environment, EnvType

from infrastructure.persistence.audit import AuditKey
from infrastructure.persistence.outage import retry_lost_connection, undecorated
from infrastructure.persistence.pool import GuardedPool
from infrastructure.persistence.recorder import IndexingRecorder
from infrastructure.settings import DEFAULTS

#: Environment keys of :class:`ConduitPostgresFactory` (beside eventsourcing's own).
POOL_TIMEOUT_KEY = "CONDUIT_POOL_TIMEOUT"
CONNECT_TIMEOUT_KEY = "CONDUIT_CONNECT_TIMEOUT"
#: The audit key (unpadded base64url) the chain's links are keyed with; unset: plain links.
AUDIT_KEY_ENV = "CONDUIT_AUDIT_KEY"


class SnapshotRecorder(PostgresAggregateRecorder):
    """eventsourcing's recorder of snapshots, with our retries (see
    :func:`retry_lost_connection`)."""

    @retry_lost_connection
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        insert = undecorated(PostgresAggregateRecorder.insert_events)
        positions: Sequence[int] | None = insert(self, stored_events, **kwargs)
        return positions

    @retry_lost_connection
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        select = undecorated(PostgresAggregateRecorder.select_events)
        events: Sequence[StoredEvent] = select(self, *args, **kwargs)
        return events


class ConduitPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the indexing recorder, and a
    :class:`GuardedPool` waiting ``CONDUIT_POOL_TIMEOUT`` seconds at most for a
    connection (each attempt to connect taking ``CONDUIT_CONNECT_TIMEOUT`` at most)."""

    application_recorder_class = IndexingRecorder
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        text = self.env.get(AUDIT_KEY_ENV)
        self._audit_key = AuditKey.from_text(text) if text else None
        connect_timeout = int(self.env.get(CONNECT_TIMEOUT_KEY) or DEFAULTS.connect_timeout)
        self.datastore.pool = GuardedPool.replacing(
            self.datastore,
            timeout=float(self.env.get(POOL_TIMEOUT_KEY) or connect_timeout),
            connect_timeout=connect_timeout,
        )

    @property
    def audit_key(self) -> bytes | None:
        """The key this process appends links with (``CONDUIT_CONFIG_AUDIT_KEY``), if any."""
        return self._audit_key.key if self._audit_key is not None else None

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, IndexingRecorder):
            recorder.use_audit_key(self._audit_key)
        return recorder
