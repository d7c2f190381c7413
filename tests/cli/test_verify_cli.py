"""The CLI on an entry whose log is broken (damage made with SQL): `get`, `history`,
`diff`, `rollback` and writes exit 6 naming the entry and position, `list` agrees,
`verify` names each problem with its position and exits 1; never a traceback."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok
from tests.integrity_support import Tables

ROUTER = Address("default", "router", "default")


@pytest.fixture
def tables(db: psycopg.Connection[Any], schema: str) -> Tables:
    return Tables(db, schema)


def _fill(cli: Runner) -> None:
    for retries in range(1, 5):  # versions 1..4
        ok(cli("set", "router", f'{{"max_retries": {retries}}}'))
    ok(cli("set", "feature_flag/f", '{"enabled": true}'))


def test_a_deleted_middle_event(cli: Runner, store: ConfigStore, tables: Tables) -> None:
    _fill(cli)
    position = tables.delete_event(ROUTER, 2)
    stderr = fails(cli("get", "router"), 6)
    assert f"default/router/default is broken at position {position}" in stderr
    assert "conduit-config repair" in stderr
    for args in (
        ("history", "router"),
        ("get", "router", "--version", "1"),
        ("diff", "router", "1", "3"),
        ("rollback", "router", "--to-version", "1"),
        ("set", "router", '{"max_retries": 9}'),
    ):
        assert f"position {position}" in fails(cli(*args), 6)
    listed = cli("--json", "list")
    assert [(v["area"], v["key"]) for v in ok(listed)] == [("feature_flag", "f")]
    assert "router/default" in listed.stderr


def test_verify_names_entry_and_position(cli: Runner, tables: Tables) -> None:
    _fill(cli)
    position = tables.delete_event(ROUTER, 4)
    shown = cli("--json", "verify")
    fails(shown, 1)
    report = json.loads(shown.stdout)
    first = report["problems"][0]
    assert (first["entry"], first["version"], first["position"]) == (
        "default:router/default",
        4,
        position,
    )
    assert report["quarantined"] == ["default/router/default"]
    assert report["chain"]["start"] == 1
    text = cli("verify")
    assert f"PROBLEM default:router/default v4 @{position}" in fails(text, 1)
    assert "chain starts at position 1; 0 earlier event(s) predate it" in text.stdout
    assert f"position {position}" in fails(cli("get", "router"), 6)  # no silent rollback


def test_only_event_deleted_is_broken_not_missing(cli: Runner, tables: Tables) -> None:
    _fill(cli)
    ok(cli("list"))
    position = tables.delete_event(Address("default", "feature_flag", "f"), 1)
    assert f"position {position}" in fails(cli("get", "feature_flag/f"), 6)
    assert [v["key"] for v in ok(cli("--json", "list"))] == ["default"]


def test_verify_against_a_recorded_head(cli: Runner, tables: Tables) -> None:
    _fill(cli)
    recorded = json.loads(cli("--json", "log", "head").stdout)["head"]
    ok(cli("set", "feature_flag/g", '{"enabled": true}'))
    assert "0 problem(s)" in ok(cli("verify", "--against", recorded))
    tables.delete_event(Address("default", "feature_flag", "g"), 1)
    tables.delete_event(Address("default", "feature_flag", "f"), 1)
    fails(cli("verify", "--against", recorded), 1)
    assert "POSITION:HASH" in fails(cli("verify", "--against", "nonsense"), 2)
