"""The CLI with stored values that today's rules refuse: reads serve the rest with a
warning line naming each bad entry, `export` writes the rest and exits 3, `get` of the
entry exits 3 saying why, `promote` skips it, `verify` names it; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.cli.test_cli import fails, ok
from tests.infrastructure.test_projections import who
from tests.stored_support import nested, write_unchecked

GOOD = {"feature_flag": {"a": {"enabled": True}}}
WARNED = ("warning: router/default", "warning: virtual_key/deep")


def _fill(store: ConfigStore) -> None:
    deep = {"key_hash": "a" * 64, "metadata": nested(300)}
    write_unchecked(store, Address("default", "virtual_key", "deep"), deep)
    write_unchecked(store, Address("default", "router", "default"), {"max_retries": 50})
    store.set(Address("default", "feature_flag", "a"), {"enabled": True}, provenance=who())


def _warned(stderr: str) -> list[str]:
    return sorted(line.split(" ")[0] + " " + line.split(" ")[1] for line in stderr.splitlines())


def test_export_writes_the_rest_and_exits_3(
    cli: Runner, store: ConfigStore, tmp_path: Path
) -> None:
    _fill(store)
    shown = cli("export")
    stderr = fails(shown, 3)
    document = json.loads(shown.stdout)
    assert document["entries"] == GOOD
    assert [p["entry"] for p in document["problems"]] == ["router/default", "virtual_key/deep"]
    assert _warned(stderr) == list(WARNED)
    assert "nests more than 200 levels deep" in stderr and "max_retries" in stderr
    target = tmp_path / "env.json"
    fails(cli("export", "-o", str(target)), 3)
    assert json.loads(target.read_text())["entries"] == GOOD
    applied = cli("--env", "staging", "apply", str(target))
    assert "is not in FILE" in ok(applied) or "is not in FILE" in applied.stderr
    assert _warned(applied.stderr) == list(WARNED)
    assert ok(cli("--env", "staging", "export"))["entries"] == GOOD


def test_reads_warn_and_serve_the_rest(cli: Runner, store: ConfigStore) -> None:
    _fill(store)
    listed = cli("--json", "list")
    assert [(v["area"], v["key"]) for v in ok(listed)] == [("feature_flag", "a")]
    assert _warned(listed.stderr) == list(WARNED)
    table = cli("list")
    assert "feature_flag" in ok(table) and "virtual_key" not in table.stdout
    diff = cli("--json", "diff-env", "0")
    assert [c["key"] for c in ok(diff)] == ["a"]
    assert _warned(diff.stderr) == list(WARNED)
    snapshot = cli("snapshot", "create", "kept")
    assert "snapshot kept" in ok(snapshot) and _warned(snapshot.stderr) == list(WARNED)
    shown = cli("--json", "snapshot", "show", "kept")
    assert ok(shown)["entries"] == GOOD and len(ok(shown)["problems"]) == 2
    promoted = cli("--json", "promote", "--from", "default", "--to", "prod")
    assert [c["key"] for c in ok(promoted)["changes"]] == ["a"]
    assert "not promoted" in promoted.stderr


def test_get_of_the_bad_entry_exits_3_and_verify_names_it(cli: Runner, store: ConfigStore) -> None:
    _fill(store)
    for address, why in (("virtual_key/deep", "levels deep"), ("router", "max_retries")):
        stderr = fails(cli("get", address), 3)
        assert "stored value of" in stderr and why in stderr
        assert "leaf" not in stderr  # the value is never echoed
    assert "virtual_key" in ok(cli("audit"))  # the change, its value not shown
    history = ok(cli("--json", "history", "virtual_key/deep"))
    assert "levels deep" in json.dumps(history[0]["changes"])
    assert "(not shown" in ok(cli("history", "virtual_key/deep"))
    report = cli("--json", "verify")
    assert report.returncode == 1
    problems = json.loads(report.stdout)["problems"]
    assert sorted(p["entry"] for p in problems) == [
        "default:router/default",
        "default:virtual_key/deep",
    ]
