"""``conduit-config log head`` and the audit key setting, through the real executable."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.chain_support import KEY_A, KEY_B
from tests.cli.conftest import Runner

HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


def ok(proc: Any) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return str(proc.stdout)


def test_log_head_of_an_empty_store_says_so(cli: Runner) -> None:
    proc = cli("log", "head")
    assert ok(proc) == ""
    assert "no chained events yet" in proc.stderr
    assert json.loads(ok(cli("log", "head", "--json"))) == {
        "position": None,
        "hash": None,
        "keyed": False,
        "key_id": None,
        "head": None,
    }


def test_log_head_prints_position_and_hash(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    ok(cli("set", "router", '{"max_retries": 2}'))
    proc = cli("log", "head")
    found = HEAD.fullmatch(ok(proc).strip())
    assert found is not None and "plain SHA-256" in proc.stderr
    shown = json.loads(ok(cli("--json", "log", "head")))
    assert shown == {
        "position": int(found.group(1)),
        "hash": found.group(2),
        "keyed": False,
        "key_id": None,
        "head": found.group(0),
    }


def test_the_audit_key_keys_the_head_and_is_required_from_then_on(cli: Runner) -> None:
    ok(cli("set", "router", '{"max_retries": 1}'))
    ok(cli("set", "router", '{"max_retries": 3}', CONDUIT_CONFIG_AUDIT_KEY=KEY_A))
    shown = json.loads(ok(cli("log", "head", "--json")))
    assert shown["keyed"] is True and re.fullmatch(r"[0-9a-f]{16}", shown["key_id"])
    for env in ({}, {"CONDUIT_CONFIG_AUDIT_KEY": KEY_B}):
        proc = cli("set", "router", '{"max_retries": 4}', **env)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert f"chained with audit key {shown['key_id']}" in proc.stderr
        assert "set CONDUIT_CONFIG_AUDIT_KEY" in proc.stderr
        assert KEY_A not in proc.stderr and KEY_B not in proc.stderr
    assert json.loads(ok(cli("get", "router", "--json")))["version"] == 2


def test_a_bad_audit_key_names_the_variable(cli: Runner) -> None:
    proc = cli("log", "head", CONDUIT_CONFIG_AUDIT_KEY="too-short")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "CONDUIT_CONFIG_AUDIT_KEY" in proc.stderr and "too-short" not in proc.stderr
