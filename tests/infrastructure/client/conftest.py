"""Fixtures of the client runtime tests: clients opened with ``connect()`` on the test
schema (closed afterwards), settings of an unreachable store, writes through a store,
and a TCP gate that refuses connections until opened, then forwards to PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.address import Address
from domain.entry import Provenance
from infrastructure.client import ConfigClient, connect
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from infrastructure.store.views import WriteResult
from tests.network import Gate

UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:1/x"
ClientFor = Callable[..., ConfigClient]
Write = Callable[..., WriteResult]


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    """This test's ``CONDUIT_CONFIG_HOME`` (last-known-good copies live under it)."""
    return tmp_path / "home"


@pytest.fixture
def client_settings(make_settings: Callable[..., Settings], client_home: Path) -> Settings:
    """Settings of the test schema with a home of this test's own."""
    return make_settings(home=client_home)


@pytest.fixture
def unreachable_settings(make_settings: Callable[..., Settings], client_home: Path) -> Settings:
    """The same home and key, but a database nobody listens for."""
    return make_settings(home=client_home, database_url=UNREACHABLE_URL, connect_timeout=1)


def copy_path(home: Path, environment: str = "prod") -> Path:
    """Where ``connect()`` keeps the last-known-good copy by default."""
    return home / "last-known-good" / f"{environment}.json"


@pytest.fixture
def client_for(client_settings: Settings) -> Iterator[ClientFor]:
    """``client_for("prod", environ={...}, ...)``: ``connect()`` with this test's settings
    (and no overrides unless ``environ`` is given); every client is closed afterwards."""
    opened: list[ConfigClient] = []

    def open_client(environment: str = "prod", **options: Any) -> ConfigClient:
        options.setdefault("settings", client_settings)
        options.setdefault("environ", {})
        client = connect(environment, **options)
        opened.append(client)
        return client

    yield open_client
    for client in reversed(opened):
        client.close()


@pytest.fixture
def write(store: ConfigStore) -> Write:
    """``write("set", "prod", "router", "default", {...})``: a command through the store
    (another writer than the client under test)."""

    def run(command: str, environment: str, area: str, key: str, *args: Any, **kw: Any) -> Any:
        who = Provenance(actor="writer", correlation_id=str(uuid.uuid4()))
        method = getattr(store, command)
        return method(Address(environment, area, key), *args, provenance=who, **kw)

    return run


@pytest.fixture
def gate(database_url: str) -> Iterator[Gate]:
    """A shut gate in front of the test database."""
    params = conninfo_to_dict(database_url)
    opened = Gate(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    yield opened
    opened.close()


def gated_url(database_url: str, gate: Gate) -> str:
    """The test database's URL through ``gate``."""
    params = {k: str(v) for k, v in conninfo_to_dict(database_url).items()}
    params.update(host="127.0.0.1", port=str(gate.port))
    return make_conninfo(**params)
