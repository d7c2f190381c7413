"""Fixtures of the fault tier: the test database behind a :class:`Gate` the test
controls, and ``serve`` processes (or stores) reaching it only through the gate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.http.server_support import Server, free_port
from tests.network import Gate

Serve = Callable[..., Server]


@pytest.fixture
def gate(database_url: str) -> Iterator[Gate]:
    """An open gate in front of the test database."""
    params = conninfo_to_dict(database_url)
    opened = Gate(
        str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432), opened=True
    )
    yield opened
    opened.close()


@pytest.fixture
def gated_url(database_url: str, gate: Gate) -> str:
    """The test database's URL through the gate."""
    params = {k: str(v) for k, v in conninfo_to_dict(database_url).items()}
    params.update(host="127.0.0.1", port=str(gate.port))
    return make_conninfo(**params)


@pytest.fixture
def serve(gated_url: str, schema: str, tmp_path: Path) -> Iterator[Serve]:
    """``serve(*args, **env)`` starts ``conduit-config serve`` on this test's schema
    through the gate and waits for /healthz; every server is stopped at teardown."""
    started: list[Server] = []

    def start(*args: str, **env: str) -> Server:
        base = {
            "CONDUIT_CONFIG_DATABASE_URL": gated_url,
            "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
            "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
            "CONDUIT_CONFIG_ACTOR": "tester",
            "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
            **env,
        }
        server = Server(base, tmp_path / f"serve-{len(started)}.log", free_port(), args)
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()
