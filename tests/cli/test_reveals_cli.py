"""Service tokens from the CLI, ``get --reveal`` recorded as a reveal, and ``reveals``
(filters, JSON and table), through the real executable."""

from __future__ import annotations

import getpass
import json
from typing import Any

import psycopg

from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok

PROVIDER = json.dumps(
    {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-cli-1", "is_primary": True}]}
)


def test_a_service_token_is_created_and_listed(cli: Runner) -> None:
    made = ok(
        cli(
            "--json",
            "token",
            "create",
            "--name",
            "gateway",
            "--role",
            "service",
            "--scope",
            "prod:provider,model_mapping",
        )
    )
    assert (made["name"], made["role"]) == ("gateway", "service")
    listed = ok(cli("--json", "token", "list"))
    assert [(t["name"], t["role"], t["scopes"]) for t in listed] == [
        ("gateway", "service", ["prod:provider,model_mapping"])
    ]
    assert "service" in fails(cli("token", "create", "--name", "x", "--role", "root"), 2)


def test_get_reveal_is_recorded_and_listed(cli: Runner) -> None:
    ok(cli("--env", "prod", "set", "provider/openai", PROVIDER))
    ok(cli("--env", "staging", "set", "provider/openai", PROVIDER))
    plain = ok(cli("--env", "prod", "--json", "get", "provider/openai"))
    assert plain["value"]["keys"][0]["api_key"] == "********"
    assert ok(cli("--json", "reveals")) == []
    shown = ok(cli("--env", "prod", "--json", "get", "provider/openai", "--reveal"))
    assert shown["value"]["keys"][0]["api_key"] == "sk-cli-1"
    ok(cli("--env", "staging", "get", "provider/openai", "--reveal", CONDUIT_CONFIG_ACTOR="ops"))
    records: list[dict[str, Any]] = ok(cli("--json", "reveals"))
    assert [{k: v for k, v in r.items() if k not in ("id", "revealed_at")} for r in records] == [
        {
            "actor": "ops",
            "role": "cli",
            "environment": "staging",
            "area": "provider",
            "key": "openai",
            "version": 1,
            "from": f"cli:{getpass.getuser()}",
            "via": "get",
        },
        {
            "actor": "tester",
            "role": "cli",
            "environment": "prod",
            "area": "provider",
            "key": "openai",
            "version": 1,
            "from": f"cli:{getpass.getuser()}",
            "via": "get",
        },
    ]
    assert [r["actor"] for r in ok(cli("--json", "reveals", "--env", "prod"))] == ["tester"]
    assert [r["environment"] for r in ok(cli("--json", "reveals", "--actor", "ops"))] == ["staging"]
    assert len(ok(cli("--json", "reveals", "--limit", "1"))) == 1
    assert ok(cli("--json", "reveals", "--since", "2999-01-01T00:00:00Z")) == []
    table = cli("reveals", "--limit", "1")
    assert table.returncode == 0 and "staging/provider/openai" in table.stdout
    assert "(more: --before" in table.stderr
    fails(cli("reveals", "--since", "soon"), 2)


def test_get_reveal_that_cannot_be_recorded_shows_nothing(
    cli: Runner, db: psycopg.Connection[Any], schema: str
) -> None:
    ok(cli("--env", "prod", "set", "provider/openai", PROVIDER))
    db.execute(f'ALTER TABLE "{schema}".cc_reveals RENAME TO cc_reveals_gone')
    proc = cli("--env", "prod", "--json", "get", "provider/openai", "--reveal")
    assert "could not record the reveal" in fails(proc, 1)
    assert "sk-cli-1" not in proc.stdout + proc.stderr
    assert ok(cli("--env", "prod", "--json", "get", "provider/openai"))["version"] == 1
