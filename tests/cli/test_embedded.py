"""The embedded default: no database URL starts a private PostgreSQL and stops it after."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

from tests.cli.conftest import embedded_servers, run_embedded


def test_embedded_runs_in_a_row_and_leaves_no_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run_embedded(home, "--json", "set", "router", '{"max_retries": 4}')
    assert first.returncode == 0, first.stderr
    second = run_embedded(home, "--json", "get", "router")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["value"]["max_retries"] == 4
    secret = {"provider_type": "groq", "keys": [{"name": "a", "api_key": "gsk-embedded"}]}
    third = run_embedded(home, "set", "provider/groq", json.dumps(secret))
    assert third.returncode == 0, third.stderr
    key_file = home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert embedded_servers(home / "pgdata") == []


def test_handle_of_a_killed_process_does_not_keep_the_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_embedded(home, "set", "feature_flag/a", "{}").returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    (home / "pgdata" / ".handle_pids.json").write_text(json.dumps([dead.pid]))
    assert run_embedded(home, "get", "feature_flag/a").returncode == 0
    assert embedded_servers(home / "pgdata") == []
