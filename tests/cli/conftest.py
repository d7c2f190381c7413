"""Run the real ``conduit-config`` executable against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import TEST_SECRET_KEY

Runner = Callable[..., subprocess.CompletedProcess[str]]


def executable() -> list[str]:
    """The installed console script, or the module when not installed."""
    script = Path(sys.executable).parent / "conduit-config"
    return [str(script)] if script.exists() else [sys.executable, "-m", "infrastructure.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any CONDUIT_CONFIG_ variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUIT_CONFIG_")}
    env.update(extra)
    return env


def run_embedded(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI on the embedded PostgreSQL under ``home`` (no database URL)."""
    return subprocess.run(
        [*executable(), *args],
        capture_output=True,
        text=True,
        env=clean_env(CONDUIT_CONFIG_HOME=str(home)),
        timeout=120,
        check=False,
    )


def embedded_servers(pgdata: Path) -> list[psutil.Process]:
    """The PostgreSQL processes serving the data directory ``pgdata``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(proc)
    return found


@pytest.fixture
def cli(database_url: str, schema: str, tmp_path: Path) -> Runner:
    """``cli("get", "router")`` runs the CLI on this test's schema; returns the process."""

    def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        base = {
            "CONDUIT_CONFIG_DATABASE_URL": database_url,
            "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
            "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
            "CONDUIT_CONFIG_ACTOR": "tester",
            "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
        }
        base.update(env)
        return subprocess.run(
            [*executable(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=clean_env(**{k: v for k, v in base.items() if v != ""}),
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    return run
