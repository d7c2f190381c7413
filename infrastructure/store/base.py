"""Shared plumbing of the store: loading entries, error mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Mapper, MapperDeserialisationError
from eventsourcing.postgres import PostgresDatastore

from domain.address import SYSTEM_ENVIRONMENT, Address, InvalidAddressError
from domain.areas.access_token import AccessToken
from domain.areas.base import SINGLETON_KEY, AreaModel
from domain.areas.registry import AreaRegistry
from domain.areas.scheduled_change import ScheduledChange
from domain.entry import ConfigEntry
from domain.errors import InvalidValueError, NotFoundError
from domain.limits import ValueLimits
from domain.secrets import SecretCodec
from domain.stored import BrokenEntry, StoredValueError
from infrastructure.persistence.application import ConfigApplication
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.checkpoints import Checkpoints
from infrastructure.projection.runner import ProjectionRunner
from infrastructure.projection.tolerant import replay_entry
from infrastructure.store.cache import EntryCache
from infrastructure.store.index import EventIndex
from infrastructure.store.integrity import QuarantinedEntry, QuarantineTable
from infrastructure.store.serving import Serving
from projections.current import registry_completer

__all__ = ["StoreBase", "storage_errors"]

DEFAULT_WAIT_SECONDS = 10.0


class StoreBase:
    """Holds the application, registry, index and secret codec."""

    def __init__(
        self,
        *,
        app: ConfigApplication,
        registry: AreaRegistry,
        codec: SecretCodec | None,
        index: EventIndex,
        projections: ProjectionRunner,
        checkpoints: Checkpoints,
        database_url: str,
        entries: EntryCache | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.complete = registry_completer(registry)
        self.codec = codec
        self.index = index
        self.projections = projections
        self.checkpoints = checkpoints
        self.entries = entries or EntryCache(maxsize=0)
        self.database_url = database_url
        # A scheduled change holds the value it will set, one level down.
        self.system_registry = AreaRegistry(limits=registry.limits.enclosing())
        self.system_registry.register(AccessToken)
        self.system_registry.register(ScheduledChange)
        self.serving = Serving(model_of=self.area_model, limits_of=self.limits_for, codec=codec)
        self.quarantine_table = QuarantineTable(index.datastore)

    @property
    def mapper(self) -> Mapper[UUID]:
        """The application's event mapper (decodes stored events)."""
        return self.app.mapper

    @property
    def datastore(self) -> PostgresDatastore:
        """The PostgreSQL datastore of the log."""
        return self.index.datastore

    def quarantine(self, entry_id: UUID, label: str, position: int | None, problem: str) -> None:
        """Record an entry whose log is broken (``label``: ``env/area/key``), so lists
        report it and reads refuse it until :meth:`release`. Raises :class:`StorageError`."""
        with storage_errors():
            self.quarantine_table.quarantine(entry_id, label, position, problem)

    def quarantined(self, environment: str | None = None) -> list[QuarantinedEntry]:
        """Entries in quarantine (of one environment). Raises :class:`StorageError`."""
        with storage_errors():
            return self.quarantine_table.quarantined(environment)

    def release(self, entry_id: UUID) -> bool:
        """Take an entry out of quarantine (after repair); whether it was in.
        Raises :class:`StorageError`."""
        with storage_errors():
            return self.quarantine_table.release(entry_id)

    def area_model(self, environment: str, area: str) -> type[AreaModel]:
        """The schema of ``area`` in ``environment``: the system environment has its own
        areas. Raises :class:`AreaNotFoundError`."""
        if environment == SYSTEM_ENVIRONMENT:
            return self.system_registry.get(area)
        return self.registry.get(area)

    def limits_for(self, environment: str) -> ValueLimits:
        """The bounds every value of ``environment`` keeps."""
        if environment == SYSTEM_ENVIRONMENT:
            return self.system_registry.limits
        return self.registry.limits

    def model_for(self, address: Address) -> type[AreaModel]:
        """The area schema of an address; singleton areas only accept key ``default``."""
        model = self.area_model(address.environment, address.area)
        if model.singleton and address.key != SINGLETON_KEY:
            raise InvalidAddressError(
                f"area {address.area!r} is a singleton: use {address.area}/{SINGLETON_KEY}"
            )
        return model

    def load(
        self, address: Address, version: int | None = None, *, repairable: bool = False
    ) -> ConfigEntry | None:
        """The entry (at ``version``), or ``None`` if it never existed. An entry with an
        event that does not decode is rebuilt from the others if a later event replaced
        its whole value; else it raises :class:`StoredValueError`, unless ``repairable``
        (a write that replaces the value starts from an empty one)."""
        with storage_errors():
            try:
                entry: ConfigEntry = self.app.repository.get(address.entry_id, version=version)
            except AggregateNotFoundError:
                return None
            except MapperDeserialisationError:
                return self._rebuilt(address, version, repairable=repairable)
        return entry

    def _rebuilt(self, address: Address, version: int | None, *, repairable: bool) -> ConfigEntry:
        stored = self.app.recorder.select_events(address.entry_id, lte=version)
        state, meta = replay_entry(self.app.mapper, address, stored)
        assert state is not None  # an entry with a row that does not decode has rows
        if isinstance(state, BrokenEntry) and not repairable:
            raise StoredValueError(address.area, address.key, state.problem)
        entry = ConfigEntry.resume(
            address,
            version=state.version,
            value=state.stored,
            deleted=state.deleted,
            modified_on=datetime.now(UTC),
        )
        entry.last_meta = meta
        return entry

    def require(self, address: Address, version: int | None = None) -> ConfigEntry:
        """Like :meth:`load` but raises :class:`NotFoundError`."""
        entry = self.load(address, version)
        if entry is None:
            raise NotFoundError(f"{address} not found in environment {address.environment!r}")
        if version is not None and entry.version != version:
            raise NotFoundError(f"{address} has no version {version} (latest is {entry.version})")
        return entry

    def fresh(self, names: list[str], min_position: int | None = None) -> None:
        """Catch the projections up (and up to ``min_position``, waiting if needed)."""
        with storage_errors():
            if min_position is None:
                self.projections.catch_up(names)
                return
            head = self.index.head()
            if min_position > head:
                # Not a position any write returned: waiting could not help.
                raise InvalidValueError.single(
                    "min_position", f"{min_position} is beyond the log's head ({head})"
                )
            self.projections.wait_for(min_position, names=names, timeout=DEFAULT_WAIT_SECONDS)
