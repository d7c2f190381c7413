"""``keygen``, ``rekey``, ``keys list`` and a wrong or rotated key, through the CLI."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from infrastructure.crypto import AesGcmCodec, decode_key, generate_key, key_id
from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok
from tests.conftest import TEST_SECRET_KEY, dump_schema

PLAIN = "sk-cli-keys-plaintext-77"
OLD_ID = key_id(decode_key(TEST_SECRET_KEY, source="t"))


def provider(*keys: str) -> str:
    items = [{"name": f"k{i}", "api_key": key} for i, key in enumerate(keys)]
    return json.dumps({"provider_type": "openai", "keys": items})


def revealed(cli: Runner, *args: str, **env: str) -> list[str]:
    shown = ok(cli("--json", "get", "provider/openai", "--reveal", *args, **env))
    return [k["api_key"] for k in shown["value"]["keys"]]


def test_keygen_prints_the_key_alone_on_stdout_and_its_id(cli: Runner) -> None:
    proc = cli("keygen")
    key = ok(proc).strip()
    assert proc.stdout == key + "\n"  # `$(conduit-config keygen)` is the key
    assert f"key id: {key_id(decode_key(key, source='t'))}" in proc.stderr
    data = ok(cli("keygen", "--json"))
    assert data["key_id"] == key_id(decode_key(data["key"], source="t"))


def test_a_wrong_key_is_an_error_never_a_sealed_value(
    cli: Runner, db: psycopg.Connection[Any], schema: str
) -> None:
    ok(cli("set", "provider/openai", provider(PLAIN)))
    wrong = generate_key()
    wrong_id = key_id(decode_key(wrong, source="t"))
    err = fails(cli("get", "provider/openai", "--reveal", CONDUIT_CONFIG_SECRET_KEY=wrong), 1)
    assert f"sealed with key {OLD_ID}, not in this process's keyring" in err
    assert "enc:" not in err
    events = dump_schema(db, schema).count("enc:v2:")
    err = fails(cli("set", "provider/openai", provider(PLAIN), CONDUIT_CONFIG_SECRET_KEY=wrong), 1)
    assert f"(id {wrong_id}) is new to this store (known: {OLD_ID})" in err
    assert "CONDUIT_CONFIG_NEW_SECRET_KEY=true" in err and "rekey --new-key" in err
    patch = json.dumps({"keys": json.loads(provider("********", "sk-second"))["keys"]})
    fails(cli("patch", "provider/openai", patch, CONDUIT_CONFIG_SECRET_KEY=wrong), 1)
    assert dump_schema(db, schema).count("enc:v2:") == events
    assert ok(cli("--json", "get", "provider/openai"))["version"] == 1
    assert revealed(cli) == [PLAIN]


def test_rotation_then_rekey_then_the_old_key_removed(cli: Runner) -> None:
    ok(cli("set", "provider/openai", provider(PLAIN, "sk-second")))
    ok(cli("--env", "staging", "set", "provider/openai", provider("sk-staging")))
    new = generate_key()
    new_id = key_id(decode_key(new, source="t"))
    ring = {"CONDUIT_CONFIG_SECRET_KEY": new, "CONDUIT_CONFIG_RETIRED_SECRET_KEYS": TEST_SECRET_KEY}
    assert revealed(cli, **ring) == [PLAIN, "sk-second"]  # reads need no recording
    plan = ok(cli("--json", "rekey", "--dry-run", "--all-envs", **ring))
    assert plan["key_id"] == new_id
    assert [(e["environment"], e["secrets"], e["applied"]) for e in plan["environments"]] == [
        ("default", 2, False),
        ("staging", 1, False),
    ]
    fails(cli("rekey", "--all-envs", **ring), 1)  # not told the key is new
    out = ok(cli("rekey", "--new-key", "--all-envs", "--reason", "rotation", **ring))
    assert f"default: re-sealed 2 secret(s) in 1 entry with key {new_id}" in out
    history = ok(cli("--json", "history", "provider/openai", **ring))
    last = history[-1] if isinstance(history, list) else history["items"][-1]
    assert (last["source"], last["reason"]) == ("rekey", "rotation")
    assert revealed(cli, **ring) == [PLAIN, "sk-second"]  # same plaintext
    listing = ok(cli("--json", "keys", "list", "--all-envs", **ring))
    counts = {
        k["key_id"]: (k["values"], k["current"], k["retired_at"] is not None)
        for k in listing["keys"]
    }
    assert counts == {OLD_ID: (0, False, True), new_id: (3, True, False)}
    assert "current here, active" in ok(cli("keys", "list", **ring))
    ok(cli("set", "provider/openai", provider("sk-third"), CONDUIT_CONFIG_SECRET_KEY=new))
    assert revealed(cli, CONDUIT_CONFIG_SECRET_KEY=new) == ["sk-third"]
    err = fails(
        cli("get", "provider/openai", "--reveal", "--version", "1", CONDUIT_CONFIG_SECRET_KEY=new),
        1,
    )
    assert f"sealed with key {OLD_ID}, not in this process's keyring" in err
    assert revealed(cli, "--version", "1", **ring) == [PLAIN, "sk-second"]
    err = fails(cli("set", "provider/openai", provider("x")), 1)  # the old key, retired
    assert f"(id {OLD_ID}) was retired" in err


def test_a_bad_retired_key_names_its_index(cli: Runner) -> None:
    bad = "tooshort"
    err = fails(
        cli("get", "router", CONDUIT_CONFIG_RETIRED_SECRET_KEYS=f"{generate_key()},{bad}"), 1
    )
    assert "CONDUIT_CONFIG_RETIRED_SECRET_KEYS[1]" in err and bad not in err


def test_rekey_with_a_wrong_key_never_says_every_secret_is_sealed_with_it(cli: Runner) -> None:
    # Was: "default: every current secret is sealed with key <wrong id>" (next to the
    # warnings that no secret opened), with every secret still under the store's key.
    ok(cli("set", "provider/openai", provider(PLAIN)))
    wrong = generate_key()
    wrong_id = key_id(decode_key(wrong, source="t"))
    refused = cli("rekey", CONDUIT_CONFIG_SECRET_KEY=wrong)
    assert refused.returncode == 1 and refused.stdout == ""
    assert f"(id {wrong_id}) is new to this store" in refused.stderr
    planned = cli("rekey", "--dry-run", CONDUIT_CONFIG_SECRET_KEY=wrong)
    assert planned.returncode == 1, planned.stderr
    assert planned.stdout == f"default: nothing to re-seal with key {wrong_id}\n"
    assert f"openai: secret keys.0.api_key: a secret is sealed with key {OLD_ID}" in (
        planned.stderr
    )


def test_a_value_sealed_with_a_key_the_store_lacks_is_bad_input(
    cli: Runner, db: psycopg.Connection[Any], schema: str
) -> None:
    # Was: exit 1 naming key ids (a key error), as for a misconfigured store.
    foreign = AesGcmCodec(key=decode_key(generate_key(), source="f")).seal("sk-foreign")
    ok(cli("set", "provider/openai", provider(PLAIN)))
    before = dump_schema(db, schema).count("enc:v2:")
    err = fails(cli("set", "provider/openai", provider(PLAIN, foreign)), 3)
    assert "keys.1.api_key" in err and "sealed with a key this store does not have" in err
    assert foreign.split(":")[-1] not in err and "enc:" not in err
    assert dump_schema(db, schema).count("enc:v2:") == before
    # No key at all stays the store's problem.
    err = fails(cli("set", "provider/openai", provider(foreign), CONDUIT_CONFIG_SECRET_KEY=""), 1)
    assert "no secret key is configured: set CONDUIT_CONFIG_SECRET_KEY" in err
