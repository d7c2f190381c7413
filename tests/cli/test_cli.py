"""The CLI end to end, through a subprocess, on a real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from tests.cli.conftest import Runner
from tests.conftest import dump_schema


def ok(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout) if proc.stdout.lstrip().startswith(("{", "[")) else proc.stdout


def fails(proc: Any, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return str(proc.stderr)


def test_areas_and_schema(cli: Runner) -> None:
    areas = ok(cli("--json", "areas"))
    assert {a["area"] for a in areas} >= {"router", "provider", "virtual_key", "feature_flag"}
    assert "router" in ok(cli("areas"))
    schema = ok(cli("schema", "router", "--json"))
    assert "max_retries" in schema["properties"]


def test_set_get_patch_json_shapes(cli: Runner, tmp_path: Path) -> None:
    written = ok(cli("--json", "set", "router/default", '{"max_retries": 5}', "--reason", "tune"))
    assert written == {
        "environment": "default",
        "area": "router",
        "key": "default",
        "version": 1,
        "position": written["position"],
        "changed": True,
    }
    got = ok(cli("get", "router/default", "--json"))
    assert set(got) == {
        "environment",
        "area",
        "key",
        "version",
        "value",
        "recorded_at",
        "position",
        "actor",
    }
    assert got["position"] == written["position"]
    assert got["value"]["max_retries"] == 5
    assert got["value"]["retry_max_delay_ms"] == 10000
    assert got["actor"] == "tester"
    patched = ok(cli("--json", "patch", "router", '{"max_retries": null}'))
    assert patched["version"] == 2
    assert ok(cli("--json", "get", "router"))["value"]["max_retries"] == 3
    (tmp_path / "v.json").write_text('{"enabled": true}')
    assert ok(cli("--json", "set", "feature_flag/beta", "@v.json"))["version"] == 1
    assert ok(cli("--json", "set", "feature_flag/gamma", "-", stdin='{"rollout_percent": 5}'))
    listed = ok(cli("--json", "list"))
    assert [(e["area"], e["key"]) for e in listed] == [
        ("feature_flag", "beta"),
        ("feature_flag", "gamma"),
        ("router", "default"),
    ]
    table = ok(cli("list", "feature_flag"))
    assert "beta" in table and "gamma" in table and "router" not in table


def test_exit_codes(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    err = fails(cli("set", "router", '{"max_retries": 11, "nope": 1}'), 3)
    assert "max_retries" in err and "nope" in err
    assert "patch: not valid JSON" in fails(cli("patch", "router", "{bad json"), 3)
    assert len(ok(cli("--json", "history", "router"))) == 1
    assert "current version is 1" in fails(cli("set", "router", "{}", "--expected-version", "7"), 4)
    fails(cli("get", "feature_flag/missing"), 5)
    fails(cli("get", "nosuch/area"), 5)
    fails(cli("get", "router", "--version", "9"), 5)
    fails(cli("frobnicate"), 2)
    fails(cli("get"), 2)
    fails(cli("get", "router", "--as-of", "yesterday"), 2)
    fails(cli("get", "router/not-default"), 2)
    fails(cli("get", "feature_flag/bad key"), 2)
    assert "is not deleted" in fails(cli("undelete", "router"), 1)
    err = fails(cli("get", "router", CONDUIT_CONFIG_SNAPSHOT_INTERVAL="many"), 1)
    assert "CONDUIT_CONFIG_SNAPSHOT_INTERVAL" in err


def test_as_of_rollback_history_diff(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    ok(cli("set", "router", '{"max_retries": 2, "fallbacks_enabled": true}'))
    assert ok(cli("--json", "get", "router", "--as-of", between))["value"]["max_retries"] == 1
    assert ok(cli("--json", "get", "router", "--version", "2"))["value"]["max_retries"] == 2
    diff = ok(cli("--json", "diff", "router", "1", "2"))
    assert {"op": "replace", "path": "/max_retries", "value": 2} in diff
    assert ok(cli("--json", "diff", "router", between, "2")) == diff
    assert "/max_retries" in ok(cli("diff", "router", "1", "2"))
    rolled = ok(cli("--json", "rollback", "router", "--to-time", between, "--reason", "bad"))
    assert rolled["version"] == 3
    ok(cli("rollback", "router", "--to-version", "2", "--expected-version", "3"))
    history = ok(cli("--json", "history", "router"))
    assert [h["event"] for h in history] == ["created", "replaced", "rolled_back", "rolled_back"]
    assert set(history[0]) >= {
        "version",
        "event",
        "actor",
        "reason",
        "source",
        "recorded_at",
        "position",
        "changes",
    }
    assert history[2]["reason"] == "bad" and history[2]["source"] == "cli"
    assert ok(cli("--json", "get", "router"))["value"]["max_retries"] == 2
    assert "rolled_back" in ok(cli("history", "router"))
    fails(cli("rollback", "router"), 2)


def test_delete_undelete(cli: Runner) -> None:
    ok(cli("set", "feature_flag/x", '{"enabled": true}'))
    ok(cli("delete", "feature_flag/x"))
    fails(cli("get", "feature_flag/x"), 5)
    assert ok(cli("--json", "list")) == []
    ok(cli("undelete", "feature_flag/x"))
    assert ok(cli("--json", "get", "feature_flag/x"))["version"] == 3


def test_environments(cli: Runner) -> None:
    ok(cli("--env", "staging", "set", "feature_flag/x", '{"enabled": true}'))
    fails(cli("get", "feature_flag/x"), 5)
    assert (
        ok(cli("get", "feature_flag/x", "--env", "staging", "--json"))["environment"] == "staging"
    )


def test_secret_never_in_plaintext(cli: Runner, db: psycopg.Connection[Any], schema: str) -> None:
    plain = "sk-cli-plaintext-8c2f"
    value = {"provider_type": "openai", "keys": [{"name": "k1", "api_key": plain}]}
    ok(cli("set", "provider/openai", json.dumps(value)))
    shown = ok(cli("--json", "get", "provider/openai"))
    assert shown["value"]["keys"][0]["api_key"] == "********"
    assert plain not in json.dumps(ok(cli("--json", "history", "provider/openai")))
    revealed = ok(cli("--json", "get", "provider/openai", "--reveal"))
    assert revealed["value"]["keys"][0]["api_key"] == plain
    assert plain not in dump_schema(db, schema)
    err = fails(cli("set", "provider/other", json.dumps(value), CONDUIT_CONFIG_SECRET_KEY=""), 1)
    assert "CONDUIT_CONFIG_SECRET_KEY" in err and plain not in err


def test_generated_virtual_key_is_shown_once_and_only_hashed(
    cli: Runner, db: psycopg.Connection[Any], schema: str
) -> None:
    out = ok(cli("--json", "set", "virtual_key/ci", '{"description": "CI"}', "--generate-key"))
    key = out["key"]
    assert key.startswith("condt_")
    stored = ok(cli("--json", "get", "virtual_key/ci"))["value"]
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in dump_schema(db, schema)
    fails(cli("set", "router", "{}", "--generate-key"), 2)


def test_verify_command(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 2}'))
    ok(cli("patch", "router", '{"max_retries": 3}'))
    report = ok(cli("--json", "verify"))
    head = report.pop("chain")
    assert report == {
        "entries": 1,
        "events": 2,
        "snapshots": 0,
        "problems": [],
        "retired_keys": [],
        "quarantined": [],
        "acknowledged_breaks": [],
    }
    assert (head["start"], head["predating"], head["head"].split(":")[0]) == (1, 0, "2")
    assert "0 problem(s)" in ok(cli("verify", "--all-envs"))
