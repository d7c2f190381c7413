"""Shared fixtures: a real PostgreSQL database per test run, a fresh schema per test.

By default an embedded PostgreSQL (pgserver) is started in a temporary directory;
``CONDUIT_CONFIG_TEST_DATABASE_URL`` points the tests at an existing server instead.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from infrastructure.bootstrap import open_store
from infrastructure.crypto import generate_key
from infrastructure.settings import Settings, load_settings
from infrastructure.store import ConfigStore
from tests.support import scratch_database

TEST_SECRET_KEY = generate_key()
StoreOpener = Callable[..., AbstractContextManager[ConfigStore]]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a database created for this test run and dropped after it."""
    with scratch_database() as url:
        yield url


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def make_settings(database_url: str, schema: str) -> Callable[..., Settings]:
    """Settings for the test database and schema, with overrides."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "database_schema": schema,
            "secret_key": TEST_SECRET_KEY,
            "home": Path(tempfile.gettempdir()) / "conduit-test-home",
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def open_test_store(make_settings: Callable[..., Settings]) -> StoreOpener:
    """Open a store on the test schema (``**overrides`` change settings)."""

    def opener(**overrides: Any) -> AbstractContextManager[ConfigStore]:
        return open_store(make_settings(**overrides))

    return opener


@pytest.fixture
def store(open_test_store: StoreOpener) -> Iterator[ConfigStore]:
    """A store on a fresh schema."""
    with open_test_store() as opened:
        yield opened


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the test database, for inspecting tables."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def dump_schema(conn: psycopg.Connection[Any], schema: str) -> str:
    """Every value of every table in ``schema`` as text (bytea decoded), for leak checks."""
    tables = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchall()
    chunks = []
    for (table,) in tables:
        for row in conn.execute(
            SQL("SELECT * FROM {}.{}").format(Identifier(schema), Identifier(table))
        ):
            for cell in row:
                data = bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                chunks.append(data.decode("utf-8", "replace"))
    return "\n".join(chunks)
