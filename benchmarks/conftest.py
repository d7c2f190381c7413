"""Benchmarks share the tests' fixtures: a real PostgreSQL database, a schema per test."""

from tests.conftest import (  # noqa: F401 - re-exported fixtures
    database_url,
    db,
    make_settings,
    open_test_store,
    schema,
    store,
)
