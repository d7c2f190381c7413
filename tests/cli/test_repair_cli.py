"""``conduit-config repair``: dry run changes nothing, a non-interactive run without
--yes is refused, a run re-establishes the damaged entry and is listed."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from tests.cli.conftest import Runner

ROUTER = Address("default", "router", "default")
TABLES = (
    "conduitconfig_events",
    "conduitconfig_snapshots",
    "cc_event_index",
    "cc_current",
    "cc_audit",
    "cc_checkpoints",
    "cc_repairs",
    "cc_quarantine",
)


def ok(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout) if proc.stdout.lstrip().startswith(("{", "[")) else proc.stdout


def _counts(db: psycopg.Connection[Any], schema: str) -> list[Any]:
    return [
        db.execute(
            SQL("SELECT count(*) FROM {}.{}").format(Identifier(schema), Identifier(t))
        ).fetchone()
        for t in TABLES
    ]


def _damage(cli: Runner, db: psycopg.Connection[Any], schema: str) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    ok(cli("patch", "router", '{"max_retries": 2}'))
    ok(cli("patch", "router", '{"fallbacks_enabled": true}'))
    ok(cli("patch", "router", '{"max_retries": 4}'))
    db.execute(
        SQL("DELETE FROM {}.{} WHERE originator_id = %s AND originator_version = 3").format(
            Identifier(schema), Identifier("conduitconfig_events")
        ),
        (ROUTER.entry_id,),
    )


def test_dry_run_then_repair(cli: Runner, db: psycopg.Connection[Any], schema: str) -> None:
    _damage(cli, db, schema)
    broken = cli("get", "router")
    assert broken.returncode == 6, broken.stderr  # BrokenLogError
    before = _counts(db, schema)
    plan = ok(cli("repair", "--dry-run", "--json"))
    assert _counts(db, schema) == before
    assert plan["dry_run"] is True
    [entry] = plan["entries"]
    assert entry["entry"] == "default:router/default"
    assert (entry["action"], entry["new_version"], entry["from"]) == (
        "reestablish",
        5,
        "version 2",
    )
    text = ok(cli("repair", "--dry-run"))
    assert "re-established at version 5 from version 2" in text
    assert "dry run: nothing changed" in text
    assert _counts(db, schema) == before

    refused = cli("repair", stdin="")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr and "--dry-run" in refused.stderr
    assert _counts(db, schema) == before
    assert ok(cli("repair", "--audit", "--json")) == []  # the dry runs recorded nothing

    done = ok(cli("repair", "--yes", "--reason", "lost event", "--json"))
    [appended] = done["appended"]
    assert (appended["version"], appended["target_version"]) == (5, 2)
    assert appended["reason"].endswith("re-established from version 2 (lost event)")
    assert ok(cli("get", "router", "--json"))["version"] == 5
    history = ok(cli("history", "router", "--json"))
    assert [h["version"] for h in history] == [1, 2, 4, 5]
    assert history[-1]["source"] == "repair"
    assert ok(cli("repair", "--dry-run", "--json"))["entries"] == []
    checked = ok(cli("verify", "--all-envs", "--json"))  # exit 0: breaks are acknowledged
    assert checked["problems"] == []
    [ack] = checked["acknowledged_breaks"]
    assert (ack["position"], ack["repair_id"]) == (3, done["repair_id"])
    assert "ACKNOWLEDGED @3 by repair" in ok(cli("verify"))
    [listed] = ok(cli("repair", "--list", "--json"))
    assert (listed["id"], listed["reason"], listed["source"]) == (
        done["repair_id"],
        "lost event",
        "cli",
    )
    assert "lost event" in ok(cli("repair", "--list"))
    [run] = ok(cli("repair", "--audit", "--json"))
    assert (run["environment"], run["area"], run["key"]) == (
        "_system",
        "repair_run",
        str(done["repair_id"]),
    )
    assert (run["source"], run["reason"], run["position"]) == (
        "repair",
        "lost event",
        done["event"]["position"],
    )
    value = {op["path"].lstrip("/"): op["value"] for op in run["changes"]}
    assert (value["scope"], value["channel"], value["entries_reestablished"]) == (
        "default",
        "cli",
        1,
    )
    assert (value["acknowledged_breaks"], value["acknowledged_break_count"]) == ([3], 1)
    assert ok(cli("verify", "--all-envs", "--json"))["problems"] == []


def test_nothing_to_do(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    text = ok(cli("repair"))
    assert "entries: no damaged entry" in text
    assert "event index: 0 row(s) to fix" in text
    assert "in the audit trail: _system:repair_run/1 (position 2)" in text
    [run] = ok(cli("repair", "--audit", "--json"))  # a run that mended nothing is recorded too
    assert (run["key"], run["event"], run["position"]) == ("1", "created", 2)
    assert "repair_run" in ok(cli("repair", "--audit"))
    assert "repair_run" not in ok(cli("areas"))
    assert ok(cli("verify", "--all-envs", "--json"))["problems"] == []
