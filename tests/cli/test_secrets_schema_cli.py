"""The CLI shows non-secret text as given (even when it looks sealed), reveals only
secret fields, and, holding the store's key, keeps an unchanged plaintext secret."""

from __future__ import annotations

import json
from typing import Any

from domain.secrets import REDACTED
from tests.cli.conftest import Runner

PLAIN = "sk-cli-schema-55aa"
ORG = "enc:v1:abc"
TEXT = "enc:v2:xx:yy"
PROVIDER = json.dumps(
    {
        "provider_type": "openai",
        "keys": [{"name": "main", "api_key": PLAIN, "organization": ORG}],
    }
)


def ok(*args: str, cli: Runner) -> Any:
    proc = cli("--json", "--env", "prod", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cli_reads_follow_the_schema(cli: Runner) -> None:
    ok("set", "provider/openai", PROVIDER, cli=cli)
    ok("set", "global_setting/motd", json.dumps({"value": TEXT}), cli=cli)
    key = ok("get", "provider/openai", cli=cli)["value"]["keys"][0]
    assert (key["api_key"], key["organization"]) == (REDACTED, ORG)
    revealed = ok("get", "provider/openai", "--reveal", cli=cli)["value"]["keys"][0]
    assert (revealed["api_key"], revealed["organization"]) == (PLAIN, ORG)
    assert ok("get", "global_setting/motd", "--reveal", cli=cli)["value"]["value"] == TEXT
    listed = {i["area"]: i["value"] for i in ok("list", cli=cli)}
    assert listed["global_setting"]["value"] == TEXT
    exported = ok("export", cli=cli)["entries"]
    assert exported["provider"]["openai"]["keys"][0]["organization"] == ORG
    assert exported["provider"]["openai"]["keys"][0]["api_key"] == REDACTED
    history = ok("history", "global_setting/motd", cli=cli)
    assert {"op": "add", "path": "/value", "value": TEXT} in history[0]["changes"]
    audit = json.dumps(ok("audit", cli=cli))
    assert TEXT in audit and ORG in audit and PLAIN not in audit


def test_cli_keeps_an_unchanged_plaintext_secret(cli: Runner) -> None:
    ok("set", "provider/openai", PROVIDER, cli=cli)
    again = ok("set", "provider/openai", PROVIDER, cli=cli)
    assert (again["changed"], again["version"]) == (False, 1)
