"""The one place that wires settings, database, registry and crypto into a store."""

from __future__ import annotations

import getpass
import importlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points

from domain.areas import builtin_registry
from domain.areas.base import AreaModel
from domain.areas.registry import AreaRegistry
from domain.errors import ConfigStoreError, SettingsError
from infrastructure.crypto import (
    AesGcmCodec,
    decode_key,
    decode_key_list,
    load_or_create_key_file,
)
from infrastructure.embedded import EmbeddedPostgres
from infrastructure.persistence.application import ConfigApplication, postgres_env
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.migrations import Migrator
from infrastructure.projection.checkpoints import Checkpoints, CheckpointSink
from infrastructure.projection.runner import ProjectionRunner
from infrastructure.projection.sinks import AuditSink, CurrentSink
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from infrastructure.store.cache import EntryCache
from infrastructure.store.chain import audit_env
from infrastructure.store.index import EventIndex
from infrastructure.store.keyguard import GuardedKeyring, KnownKeys
from projections.audit import registry_schemas
from projections.current import registry_completer

AREA_ENTRY_POINT_GROUP = "conduit_config.areas"


def default_actor() -> str:
    """The OS user, or ``unknown``."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _import_area(path: str) -> type[AreaModel]:
    module_name, _, attr = path.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name.strip()), attr.strip())
    except (ImportError, AttributeError, ValueError) as exc:
        raise SettingsError(f"CONDUIT_CONFIG_AREAS: cannot import {path!r}: {exc}") from None
    if not (isinstance(obj, type) and issubclass(obj, AreaModel)):
        raise SettingsError(f"CONDUIT_CONFIG_AREAS: {path!r} is not an AreaModel subclass")
    return obj


def load_registry(settings: Settings) -> AreaRegistry:
    """Built-in areas, then entry points of group ``conduit_config.areas``, then settings;
    every value is kept within the value limits of the settings."""
    registry = builtin_registry(limits=settings.value_limits())
    for point in entry_points(group=AREA_ENTRY_POINT_GROUP):
        registry.register(_import_area(point.value))
    for path in filter(None, (p.strip() for p in settings.areas.split(","))):
        try:
            registry.register(_import_area(path))
        except ConfigStoreError as exc:
            raise SettingsError(f"CONDUIT_CONFIG_AREAS: {exc}") from None
    return registry


def secret_codec(settings: Settings, *, embedded: bool) -> AesGcmCodec | None:
    """The secret keyring: the current key from the setting, else (embedded only) the
    key file in home; plus the retired keys. Raises :class:`SettingsError`."""
    retired: list[bytes] = []
    if settings.retired_secret_keys is not None:
        retired = decode_key_list(
            settings.retired_secret_keys.get_secret_value(),
            source="CONDUIT_CONFIG_RETIRED_SECRET_KEYS",
        )
    if settings.secret_key is not None:
        key = decode_key(settings.secret_key.get_secret_value(), source="CONDUIT_CONFIG_SECRET_KEY")
        return AesGcmCodec(key=key, retired=retired)
    if embedded:
        return AesGcmCodec(key=load_or_create_key_file(settings.home), retired=retired)
    return None


def guarded_keyring(
    keyring: AesGcmCodec | None, app: ConfigApplication, settings: Settings
) -> GuardedKeyring | None:
    """The keyring as the store uses it: sealing only with a key the store knows."""
    if keyring is None:
        return None
    who = f"{settings.actor or default_actor()} on {socket.gethostname()}"
    return GuardedKeyring(
        keyring,
        known=KnownKeys(app.datastore),
        new_key=settings.new_secret_key,
        recorded_by=who,
    )


def build_runner(
    app: ConfigApplication,
    registry: AreaRegistry,
    checkpoints: Checkpoints,
    *,
    settings: Settings,
) -> ProjectionRunner:
    """The projection runner with every projection of this release."""
    schema = app.datastore.schema
    return ProjectionRunner(
        datastore=app.datastore,
        mapper=app.mapper,
        events_table=app.events_table,
        sinks=[
            CurrentSink(schema=schema, complete=registry_completer(registry)),
            AuditSink(schema=schema, secret_schema=registry_schemas(registry)),
            CheckpointSink(checkpoints=checkpoints, interval=settings.checkpoint_interval),
        ],
        batch_size=settings.projection_batch_size,
        connect_timeout=settings.connect_timeout,
    )


def _start_application(url: str, env: dict[str, str], settings: Settings) -> ConfigApplication:
    """Migrate (or check) our tables, then let eventsourcing create its own, under one lock."""
    migrator = Migrator(
        url=url, schema=settings.database_schema, connect_timeout=settings.connect_timeout
    )
    with migrator.started(apply=settings.auto_migrate), storage_errors():
        return ConfigApplication(env, snapshot_interval=settings.snapshot_interval)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured URL, or the embedded PostgreSQL's (started here, stopped after)."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(home=settings.home)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@contextmanager
def open_store(settings: Settings) -> Iterator[ConfigStore]:
    """A ready store; starts the embedded PostgreSQL when no database URL is set.

    Raises :class:`SettingsError` or :class:`StorageError`.
    """
    with database_url(settings) as url:
        registry = load_registry(settings)
        codec = secret_codec(settings, embedded=settings.database_url is None)
        env = postgres_env(
            url,
            schema=settings.database_schema,
            pool_size=settings.pool_size,
            connect_timeout=settings.connect_timeout,
            pool_timeout=settings.database_timeout_seconds,
        )
        env.update(audit_env(settings))
        app = _start_application(url, env, settings)
        checkpoints = Checkpoints(
            schema=app.datastore.schema, events_table=app.events_table, mapper=app.mapper
        )
        store = ConfigStore(
            app=app,
            registry=registry,
            codec=guarded_keyring(codec, app, settings),
            index=EventIndex(datastore=app.datastore),
            projections=build_runner(app, registry, checkpoints, settings=settings),
            checkpoints=checkpoints,
            database_url=url,
            entries=EntryCache(maxsize=settings.entry_cache_size),
        )
        try:
            yield store
        finally:
            store.close()
