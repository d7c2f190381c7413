"""``init`` and ``token create|list|revoke|audit`` through the real executable."""

from __future__ import annotations

from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok


def test_init_creates_one_admin_token(cli: Runner) -> None:
    first = ok(cli("--json", "init"))
    assert (first["name"], first["role"]) == ("admin", "admin")
    assert first["token"].startswith("cct_admin.")
    assert ok(cli("--json", "init")) == {"name": None, "role": None, "token": None}
    assert "already has tokens" in ok(cli("init"))


def test_token_lifecycle(cli: Runner) -> None:
    made = ok(
        cli(
            "--json",
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "writer",
            "--scope",
            "prod:router,provider",
            "--scope",
            "dev",
            "--expires",
            "2099-01-01T00:00:00Z",
            "--reason",
            "pipeline",
        )
    )
    assert set(made) == {"name", "role", "token"}
    listed = ok(cli("--json", "token", "list"))
    assert [(t["name"], t["role"], t["scopes"]) for t in listed] == [
        ("ci", "writer", ["prod:router,provider", "dev"])
    ]
    assert listed[0]["expires_at"].startswith("2099-01-01")
    assert made["token"] not in cli("--json", "token", "list").stdout
    assert "revoked" in ok(cli("token", "revoke", "ci"))
    assert ok(cli("--json", "token", "list")) == []
    trail = ok(cli("--json", "token", "audit"))
    assert [(r["key"], r["event"]) for r in trail] == [("ci", "deleted"), ("ci", "created")]
    assert trail[1]["reason"] == "pipeline"


def test_token_errors(cli: Runner) -> None:
    assert "scopes: invalid scope" in fails(
        cli("token", "create", "--name", "x", "--role", "reader", "--scope", "prod:Bad"), 3
    )
    fails(cli("token", "create", "--name", "x", "--role", "owner"), 2)
    fails(cli("token", "create", "--name", "bad name", "--role", "reader"), 2)
    assert "no token named" in fails(cli("token", "revoke", "ghost"), 5)
    fails(cli("token", "create", "--name", "y", "--role", "reader", "--expires", "soon"), 2)
    fails(cli("--env", "_system", "list"), 2)
