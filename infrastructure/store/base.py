"""Shared plumbing of the store: loading entries, error mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import Mapper, MapperDeserialisationError
from eventsourcing.postgres import PostgresDatastore

from domain.address import SYSTEM_ENVIRONMENT, Address, InvalidAddressError
from domain.areas.access_token import AccessToken
from domain.areas.base import SINGLETON_KEY, AreaModel
from domain.areas.registry import AreaRegistry
from domain.areas.repair_run import RepairRun
from domain.areas.scheduled_change import ScheduledChange
from domain.entry import ConfigEntry
from domain.errors import InvalidValueError, NotFoundError
from domain.limits import ValueLimits
from domain.secrets import SecretCodec
from domain.stored import BROKEN_LOG_TYPE, BrokenEntry, EntryProblem, StoredValueError
from infrastructure.persistence.application import ConfigApplication
from infrastructure.persistence.errors import storage_errors
from infrastructure.projection.checkpoints import Checkpoints
from infrastructure.projection.runner import ProjectionRunner
from infrastructure.projection.tolerant import replay_entry
from infrastructure.store.cache import EntryCache
from infrastructure.store.guard import broken_error, quarantined_error, read_marks, value_matches
from infrastructure.store.index import EventIndex
from infrastructure.store.quarantine import QuarantinedEntry, QuarantineTable
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
        self.system_registry.register(RepairRun)
        self.quarantine_table = QuarantineTable(index.datastore)
        self.serving = Serving(
            model_of=self.area_model,
            limits_of=self.limits_for,
            codec=codec,
            broken_of=self._broken_entries,
        )

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

    def _broken_entries(self, environment: str) -> list[EntryProblem]:
        """Quarantined entries of ``environment`` as read problems."""
        return [
            EntryProblem(q.area, q.key, quarantined_error(q).args[0], type=BROKEN_LOG_TYPE)
            for q in self.quarantined(environment)
        ]

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
        self,
        address: Address,
        version: int | None = None,
        *,
        repairable: bool = False,
        tolerate_broken: bool = False,
    ) -> ConfigEntry | None:
        """The entry (at ``version``), or ``None`` if it never existed.

        Raises :class:`BrokenLogError` when the entry's own log is broken (a version
        missing, an event that does not decode, events the index disagrees with) or the
        entry is quarantined; ``tolerate_broken`` (for ``repair``) skips those checks and
        rebuilds what the events that decode give. A snapshot that does not decode is
        passed over (the events are replayed). A replay that breaks (a change that does
        not apply) raises :class:`StoredValueError` unless ``repairable`` (a write that
        replaces the whole value starts from an empty one)."""
        with storage_errors():
            try:
                entry: ConfigEntry | None = self.app.repository.get(
                    address.entry_id, version=version
                )
            except AggregateNotFoundError:
                entry = None
            except (MapperDeserialisationError, OriginatorVersionError):
                if not tolerate_broken:
                    self._refuse_broken(address)
                return self._rebuilt(address, version, repairable=repairable or tolerate_broken)
            if not tolerate_broken:
                self._check_log(address, entry, version)
                if entry is not None and not value_matches(entry):
                    entry = self._replayed(address, version)
        return entry

    def _replayed(self, address: Address, version: int | None) -> ConfigEntry:
        """The entry replayed from its events alone, for a loaded value that does not
        match its recorded hash: raises :class:`BrokenLogError` when the events are to
        blame; otherwise the snapshot it was loaded from lies (``verify`` names it,
        ``repair`` drops it) and is passed over."""
        self._refuse_broken(address)
        return self._rebuilt(address, version, repairable=False)

    def _check_log(self, address: Address, entry: ConfigEntry | None, version: int | None) -> None:
        """Refuse a quarantined entry, and one whose loaded version disagrees with the
        index (its last or only event deleted, events inserted without index rows)."""
        marks = read_marks(self.datastore, address.entry_id)
        if marks.quarantined is not None:
            raise quarantined_error(marks.quarantined)
        if marks.disagree(entry.version if entry is not None else None, version):
            self._refuse_broken(address)

    def refuse_quarantined(self, address: Address) -> None:
        """Raise :class:`BrokenLogError` if the entry is quarantined (a write starting
        from a cached state checks this much, against ids at most a second old).
        Raises :class:`StorageError`."""
        with storage_errors():
            found = (
                self.quarantine_table.get(address.entry_id)
                if self.quarantine_table.holds(address.entry_id)
                else None
            )
        if found is not None:
            raise quarantined_error(found)

    def refuse_quarantined_in(self, environment: str, keys: list[tuple[str, str]]) -> None:
        """Raise :class:`BrokenLogError` if a multi-entry write touches a quarantined entry
        of ``environment`` (``keys``: ``(area, key)``). Raises :class:`StorageError`."""
        touched = set(keys)
        for found in self.quarantined(environment):
            if (found.area, found.key) in touched:
                raise quarantined_error(found)

    def _refuse_broken(self, address: Address) -> None:
        """Raise :class:`BrokenLogError` if a full inspection finds the log broken."""
        error = broken_error(self, self.quarantine_table, address)
        if error is not None:
            raise error

    def _rebuilt(self, address: Address, version: int | None, *, repairable: bool) -> ConfigEntry:
        stored = self.app.recorder.select_events(address.entry_id, lte=version)
        state, meta = replay_entry(self.app.mapper, address, stored)
        assert state is not None  # an entry with a row that does not decode has rows
        if isinstance(state, BrokenEntry) and not repairable:  # not the log: its replay
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
