"""CLI: audit, projections status/rebuild/run, migrate."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from infrastructure.persistence.migrations import LATEST
from tests.cli.conftest import Runner, clean_env, executable
from tests.cli.test_cli import fails, ok
from tests.conftest import TEST_SECRET_KEY


def test_audit_status_rebuild_migrate(cli: Runner) -> None:
    first = ok(cli("--json", "set", "router", '{"max_retries": 1}', "--reason", "init"))
    ok(cli("patch", "router", '{"max_retries": 2}', "--actor", "bob"))
    rows = ok(cli("--json", "audit", "--min-position", str(first["position"])))
    assert [(r["version"], r["actor"], r["event"]) for r in rows] == [
        (2, "bob", "changed"),
        (1, "tester", "created"),
    ]
    assert set(rows[0]) >= {
        "position",
        "environment",
        "area",
        "key",
        "version",
        "event",
        "actor",
        "reason",
        "source",
        "recorded_at",
        "changes",
    }
    assert ok(cli("--json", "audit", "--actor", "bob", "--limit", "5"))[0]["version"] == 2
    assert "bob" in ok(cli("audit", "--area", "router"))
    status = {s["name"]: s for s in ok(cli("--json", "projections", "status"))}
    assert status["audit"]["lag"] == 0 and status["audit"]["head"] == 2
    rebuilt = ok(cli("--json", "projections", "rebuild", "current"))
    assert rebuilt["events"] == 2
    fails(cli("projections", "rebuild", "nope"), 5)
    assert ok(cli("--json", "migrate")) == {"applied": [], "latest": LATEST}
    assert ok(cli("--json", "migrate", "--check")) == {"pending": []}
    fails(cli("audit", "--since", "soon"), 2)


def test_projections_run_follows_the_log(
    cli: Runner, database_url: str, schema: str, tmp_path: Path
) -> None:
    ok(cli("set", "feature_flag/a", "{}"))
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
    )
    runner = subprocess.Popen(
        [*executable(), "projections", "run"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        ok(cli("set", "feature_flag/b", "{}"))
        deadline = time.monotonic() + 20
        lags: dict[str, int] = {}
        while time.monotonic() < deadline:
            status = json.loads(cli("--json", "projections", "status").stdout)
            lags = {s["name"]: s["lag"] for s in status}
            if lags == {"current": 0, "audit": 0, "checkpoints": 0} and status[0]["head"] == 2:
                break
            time.sleep(0.2)
        assert lags == {"current": 0, "audit": 0, "checkpoints": 0}
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=20)
    assert runner.returncode == 0
