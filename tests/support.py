"""A scratch PostgreSQL database for tests, benchmarks and the comparison runner.

By default an embedded PostgreSQL (pgserver) is started in a temporary directory;
``CONDUIT_CONFIG_TEST_DATABASE_URL`` points at an existing server instead.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.sql import SQL, Identifier


@contextmanager
def _server_url() -> Iterator[str]:
    given = os.environ.get("CONDUIT_CONFIG_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - warns at import time

        with tempfile.TemporaryDirectory(prefix="conduit-test-pg-") as tmp:
            server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
            try:
                yield server.get_uri()
            finally:
                server.cleanup()


@contextmanager
def scratch_database() -> Iterator[str]:
    """URL of a new database, dropped (and the embedded server stopped) afterwards."""
    with _server_url() as server_url:
        name = f"conduit_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
        params = conninfo_to_dict(server_url)
        params["dbname"] = name
        try:
            yield make_conninfo(**{k: str(v) for k, v in params.items()})
        finally:
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(
                    SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name))
                )
