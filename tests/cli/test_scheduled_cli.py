"""``set|patch|delete --at`` and ``scheduled list|show|cancel`` through the real executable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import orjson

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok

PLAIN = "sk-cli-scheduled-secret-91"


def at(seconds: int = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_set_at_schedules_and_applying_it_when_due_sets_the_value(
    cli: Runner, store: ConfigStore
) -> None:
    out = ok(cli("--env", "prod", "set", "router", '{"max_retries": 6}', "--at", at()))
    match = re.match(r"scheduled (sch-[0-9a-f]{12}) for \S+: set router/default in prod", out)
    assert match, out
    schedule_id = match.group(1)
    fails(cli("--env", "prod", "get", "router"), 5)  # nothing applied yet
    listed = ok(cli("--env", "prod", "--json", "scheduled", "list"))
    assert [(s["id"], s["status"], s["requested_by"]) for s in listed] == [
        (schedule_id, "pending", "tester")
    ]
    assert ok(cli("--json", "scheduled", "list")) == []  # --env default has none
    assert len(ok(cli("--json", "scheduled", "list", "--all-envs"))) == 1
    store.apply_due_changes(now=datetime.now(UTC) + timedelta(hours=2))
    assert ok(cli("--env", "prod", "--json", "get", "router"))["value"]["max_retries"] == 6
    history = ok(cli("--env", "prod", "--json", "history", "router"))
    assert [(h["source"], h["actor"]) for h in history] == [("scheduler", "tester")]
    assert ok(cli("--env", "prod", "--json", "scheduled", "list")) == []
    done = ok(cli("--env", "prod", "--json", "scheduled", "list", "--all"))
    assert [(s["status"], s["applied_version"]) for s in done] == [("applied", 1)]
    shown = ok(cli("--json", "scheduled", "show", schedule_id))
    assert (shown["status"], shown["applied_position"]) == ("applied", 2)  # after the schedule
    assert "applied" in ok(cli("--env", "prod", "scheduled", "list", "--all"))


def test_patch_and_delete_at_and_cancel(cli: Runner, store: ConfigStore) -> None:
    ok(cli("set", "feature_flag/beta", '{"enabled": true}'))
    patched = ok(cli("--json", "patch", "feature_flag/beta", '{"enabled": false}', "--at", at()))
    assert (patched["operation"], patched["value"]) == ("patch", {"enabled": False})
    deleted = ok(
        cli("--json", "delete", "feature_flag/beta", "--at", at(7200), "--expected-version", "2")
    )
    assert (deleted["operation"], deleted["expected_version"]) == ("delete", 2)
    cancelled = ok(cli("scheduled", "cancel", patched["id"], "--reason", "changed my mind"))
    assert cancelled.startswith(f"{patched['id']}: cancelled (cancelled by tester: changed my")
    fails(cli("scheduled", "cancel", patched["id"]), 1)  # no longer pending
    fails(cli("scheduled", "cancel", "sch-000000000000"), 5)
    fails(cli("scheduled", "cancel", "whatever"), 5)
    fails(cli("--env", "prod", "scheduled", "cancel", deleted["id"]), 5)  # not prod's
    [ended] = store.apply_due_changes(now=datetime.now(UTC) + timedelta(hours=3))
    assert (ended.id, ended.status) == (deleted["id"], "failed")  # the patch never ran
    assert "expected version 2" in (ended.result or "")
    assert store.get(Address("default", "feature_flag", "beta")).version == 1


def test_exit_codes_and_nothing_written_on_bad_input(cli: Runner, store: ConfigStore) -> None:
    head = store.index.head()
    naive = fails(cli("set", "router", "{}", "--at", "2099-01-01T00:00:00"), 2)
    assert "--at" in naive and "UTC offset" in naive
    assert "--at" in fails(cli("set", "router", "{}", "--at", "tomorrow"), 2)
    past = fails(cli("set", "router", "{}", "--at", "2000-01-01T00:00:00Z"), 3)
    assert "at: " in past and "not in the future" in past
    assert "max_retries" in fails(cli("set", "router", '{"max_retries": 99}', "--at", at()), 3)
    assert "patch" in fails(cli("patch", "router", "[1]", "--at", at()), 3)
    fails(cli("set", "nope/x", "{}", "--at", at()), 5)
    assert store.index.head() == head


def test_secrets_are_redacted_in_scheduled_output(cli: Runner) -> None:
    value = orjson.dumps({"provider_type": "openai", "keys": [{"name": "k", "api_key": PLAIN}]})
    made = ok(cli("--json", "set", "provider/openai", value.decode(), "--at", at()))
    assert made["value"]["keys"][0]["api_key"] == "********"
    listed = cli("--json", "scheduled", "list")
    assert PLAIN not in listed.stdout
    assert ok(listed)[0]["value"]["keys"][0]["api_key"] == "********"
    assert PLAIN not in ok(cli("scheduled", "show", made["id"]))
