"""The eventsourcing ``Application`` holding every ``ConfigEntry``."""

from __future__ import annotations

from uuid import UUID

import psycopg
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Mapper
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import Environment, EnvType, get_topic
from psycopg.conninfo import conninfo_to_dict

from domain.entry import ConfigEntry
from domain.errors import SettingsError
from infrastructure.persistence.factory import (
    CONNECT_TIMEOUT_KEY,
    POOL_TIMEOUT_KEY,
    ConduitPostgresFactory,
)
from infrastructure.persistence.outage import DatabaseHealth
from infrastructure.persistence.pool import GuardedPool
from infrastructure.persistence.recorder import IndexingRecorder
from infrastructure.persistence.serialization import OrjsonTranscoder, PydanticMapper

APPLICATION_NAME = "ConduitConfig"


def postgres_env(
    url: str,
    *,
    schema: str,
    pool_size: int,
    connect_timeout: int,
    pool_timeout: float | None = None,
) -> dict[str, str]:
    """eventsourcing environment for a PostgreSQL URL: each connection attempt takes
    ``connect_timeout`` seconds at most, and a caller waits ``pool_timeout`` seconds at
    most for a connection (default: ``connect_timeout``).

    Raises :class:`SettingsError` naming ``CONDUIT_CONFIG_DATABASE_URL`` for a bad URL.
    """
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise SettingsError(f"CONDUIT_CONFIG_DATABASE_URL: cannot parse ({exc})") from None
    return {
        "PERSISTENCE_MODULE": get_topic(ConduitPostgresFactory),
        "POSTGRES_DBNAME": str(parts.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(parts.get("host") or "localhost"),
        "POSTGRES_PORT": str(parts.get("port") or "5432"),
        "POSTGRES_USER": str(parts.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        CONNECT_TIMEOUT_KEY: str(connect_timeout),
        POOL_TIMEOUT_KEY: str(pool_timeout if pool_timeout is not None else connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Off on purpose: with it, no table lock, no tracking rows, and name clashes (README).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


class ConfigApplication(Application[UUID]):
    """Stores ``ConfigEntry`` events and per-entry snapshots.

    Reads only the environment it is given (never ``os.environ``), so the settings
    model stays the one place configuration comes from.
    """

    name = APPLICATION_NAME

    def __init__(self, env: EnvType | None = None, *, snapshot_interval: int = 50) -> None:
        self.snapshot_interval = snapshot_interval
        super().__init__(env)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # The saved entry is in memory at its new version: snapshot it there instead of
        # re-reading it from the database as the library's default does.
        if self.snapshots is None:
            return
        taken = []
        for event in processing_event.events:
            entry = processing_event.aggregates.get(event.originator_id)
            if (
                isinstance(entry, ConfigEntry)
                and event.originator_version % self.snapshot_interval == 0
                and entry.version == event.originator_version
            ):
                taken.append(ConfigEntry.Snapshot.take(entry))
        if taken:
            self.snapshots.put(taken)

    def close(self) -> None:
        recorder = self.recorder
        if isinstance(recorder, IndexingRecorder):
            recorder.release()
        super().close()

    @property
    def datastore(self) -> PostgresDatastore:
        """The PostgreSQL datastore (pool) behind the recorders."""
        datastore: PostgresDatastore = self.factory.datastore  # type: ignore[attr-defined]
        return datastore

    @property
    def health(self) -> DatabaseHealth:
        """Whether the database answered lately (shared by every user of the pool)."""
        pool = self.datastore.pool
        assert isinstance(pool, GuardedPool)
        return pool.health

    def interrupt(self, reason: str) -> None:
        """Fail every database call from now on, and those waiting for a connection
        (the process is stopping and must not wait for an unreachable database)."""
        pool = self.datastore.pool
        assert isinstance(pool, GuardedPool)
        pool.interrupt(reason)

    @property
    def events_table(self) -> str:
        """Name of the events table (also the NOTIFY channel)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        return recorder.events_table_name

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return PydanticMapper(transcoder=OrjsonTranscoder())
