"""The embedded default: no database URL starts a private PostgreSQL and stops it after."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import psutil

from tests.cli.conftest import clean_env, executable


def _servers_for(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(proc)
    return found


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*executable(), *args],
        capture_output=True,
        text=True,
        env=clean_env(CONDUIT_CONFIG_HOME=str(home)),
        timeout=120,
        check=False,
    )


def test_embedded_runs_in_a_row_and_leaves_no_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _run(home, "--json", "set", "router", '{"max_retries": 4}')
    assert first.returncode == 0, first.stderr
    second = _run(home, "--json", "get", "router")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["value"]["max_retries"] == 4
    secret = {"provider_type": "groq", "keys": [{"name": "a", "api_key": "gsk-embedded"}]}
    third = _run(home, "set", "provider/groq", json.dumps(secret))
    assert third.returncode == 0, third.stderr
    key_file = home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _servers_for(home / "pgdata") == []


def test_handle_of_a_killed_process_does_not_keep_the_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _run(home, "set", "feature_flag/a", "{}").returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    (home / "pgdata" / ".handle_pids.json").write_text(json.dumps([dead.pid]))
    assert _run(home, "get", "feature_flag/a").returncode == 0
    assert _servers_for(home / "pgdata") == []
