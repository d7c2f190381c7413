"""CLI: ``conduit-config mirror status|rebuild``, and its errors (exit 1, the variable
named, no traceback)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.cli.conftest import clean_env, executable
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.http.server_support import free_port

WHO = Provenance(actor="cli-test", correlation_id="c")


@pytest.fixture
def mirror_cli(database_url: str, schema: str, tmp_path: Path) -> Any:
    """``mirror_cli("status", "--json", REDIS_URL=...)``: the real executable on this
    test's schema; keyword arguments are CONDUIT_CONFIG_ variables (``""``: unset)."""

    def run(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
        env = {
            "DATABASE_URL": database_url,
            "DATABASE_SCHEMA": schema,
            "SECRET_KEY": TEST_SECRET_KEY,
            **variables,
        }
        return subprocess.run(
            [*executable(), "mirror", *args],
            capture_output=True,
            text=True,
            env=clean_env(**{f"CONDUIT_CONFIG_{k}": v for k, v in env.items() if v}),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    return run


def _failed(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_status_and_rebuild(
    mirror_cli: Any, store: ConfigStore, redis_url: str, redis_prefix: str
) -> None:
    for i in range(3):
        store.set(Address("default", "feature_flag", f"f{i}"), {}, provenance=WHO)
    redis = {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix}
    status = mirror_cli("status", "--json", **redis)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout) == {
        "name": "redis",
        "position": 0,
        "head": 3,
        "lag": 3,
        "prefix": redis_prefix,
    }
    rebuilt = mirror_cli("rebuild", "--json", **redis)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert {k: v for k, v in json.loads(rebuilt.stdout).items() if k != "seconds"} == {
        "mirror": "redis",
        "prefix": redis_prefix,
        "events": 3,
    }
    table = mirror_cli("status", **redis)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split() == ["redis", redis_prefix, "3", "3", "0"]
    assert "rebuilt the Redis mirror" in mirror_cli("rebuild", **redis).stdout


def test_errors_name_the_variable(mirror_cli: Any) -> None:
    unset = _failed(mirror_cli("status", "--json"))
    assert unset == "error: the Redis mirror is not configured: set CONDUIT_CONFIG_REDIS_URL\n"
    bad_port = _failed(mirror_cli("status", REDIS_URL="redis://127.0.0.1:notaport/0"))
    assert bad_port.startswith("error: invalid settings: CONDUIT_CONFIG_REDIS_URL: Port")
    bad_scheme = _failed(mirror_cli("rebuild", "--json", REDIS_URL="http://127.0.0.1:6379"))
    assert "CONDUIT_CONFIG_REDIS_URL: Value error, must start with redis://" in bad_scheme
    port = free_port()
    down = _failed(mirror_cli("status", "--json", REDIS_URL=f"redis://127.0.0.1:{port}/0"))
    assert down.startswith("error: Redis unavailable: ") and f"127.0.0.1:{port}" in down
