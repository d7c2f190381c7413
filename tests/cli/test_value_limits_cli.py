"""Hostile values and documents through the CLI: refused with exit 3 naming the field
(never exit 1, never a traceback), and nothing is appended."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Runner, clean_env, executable
from tests.conftest import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
VK = "virtual_key/team-a"
KEY_HASH = "c" * 64
# 534 bytes of YAML whose aliases expand to 9**9 strings (the "billion laughs").
LAUGHS = "\n".join(
    [
        "environment: default",
        "entries:",
        "  global_setting:",
        "    laughs:",
        "      value: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        *(
            f"      {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "",
    ]
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def invalid(proc: subprocess.CompletedProcess[Any], *mentions: str) -> str:
    stderr = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    assert proc.returncode == 3, (proc.returncode, stderr[:2000])
    assert "Traceback" not in stderr and "internal error" not in stderr
    for mention in mentions:
        assert mention in stderr, (mention, stderr[:2000])
    return stderr


def version(cli: Runner, address: str = VK) -> int:
    proc = cli("--json", "get", address)
    assert proc.returncode == 0, proc.stderr
    return int(json.loads(proc.stdout)["version"])


@pytest.fixture
def vk(cli: Runner) -> str:
    """A virtual key at version 1."""
    assert cli("set", VK, json.dumps({"key_hash": KEY_HASH})).returncode == 0
    return VK


@pytest.fixture
def raw_cli(database_url: str, schema: str, tmp_path: Path) -> Any:
    """The CLI with bytes on stdin (the ``cli`` fixture sends text)."""

    def run(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        env = clean_env(
            CONDUIT_CONFIG_DATABASE_URL=database_url,
            CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
            CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
            CONDUIT_CONFIG_ACTOR="tester",
        )
        return subprocess.run(
            [*executable(), *args],
            input=stdin,
            capture_output=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    return run


def test_deep_metadata_is_exit_3_naming_it(cli: Runner, vk: str, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps({"key_hash": KEY_HASH, "metadata": nested(250)}))
    invalid(cli("set", vk, f"@{deep}"), "metadata.a.a", "nested deeper than 32 levels")
    invalid(cli("patch", vk, json.dumps({"metadata": nested(250)})), "metadata.a.a")
    # Deeper than the JSON parser goes: still an invalid value, not an internal error.
    text = '{"metadata": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001
    invalid(cli("patch", vk, "-", stdin=text), "patch", "nested too deeply")
    assert version(cli) == 1


def test_huge_values_and_numbers_are_exit_3(cli: Runner, vk: str, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    blob = {f"k{i}": "v" * 1000 for i in range(10_000)}  # 10 MB
    big.write_text(json.dumps({"key_hash": KEY_HASH, "metadata": blob}))
    invalid(cli("set", vk, f"@{big}"), "metadata", "over 262144 bytes")
    small_cap = {"CONDUIT_CONFIG_MAX_DOCUMENT_BYTES": "65536"}
    invalid(cli("set", vk, f"@{big}", **small_cap), "value", "over 65536 bytes")
    invalid(cli("patch", vk, '{"rate_limit_rpm": 18446744073709551616}'), "rate_limit_rpm")
    invalid(cli("patch", vk, '{"metadata": {"n": -18446744073709551616}}'), "metadata.n")
    invalid(cli("patch", vk, '{"metadata": {"\\ud800": 1}}'), "metadata.\\ud800", "Unicode")
    invalid(cli("patch", vk, '{"metadata": {"x": NaN}}'), "patch", "NaN")
    assert version(cli) == 1


def test_invalid_utf8_is_exit_3_from_a_file_and_from_stdin(
    cli: Runner, raw_cli: Any, vk: str, tmp_path: Path
) -> None:
    bad = b'{"description": "caf\xe9"}'
    path = tmp_path / "latin1.json"
    path.write_bytes(bad)
    invalid(cli("patch", vk, f"@{path}"), "patch", "not valid UTF-8")
    invalid(raw_cli("patch", vk, "-", stdin=bad), "patch", "not valid UTF-8")
    doc = tmp_path / "latin1.yaml"
    doc.write_bytes(b"entries:\n  global_setting:\n    x: {value: caf\xe9}\n")
    invalid(cli("plan", str(doc)), "document", "not valid UTF-8")
    invalid(raw_cli("apply", "-", "--format", "yaml", stdin=doc.read_bytes()), "document")
    assert version(cli) == 1


def test_yaml_aliases_are_refused(cli: Runner, tmp_path: Path) -> None:
    bomb = tmp_path / "laughs.yaml"
    bomb.write_text(LAUGHS)
    assert len(LAUGHS.encode()) <= 534
    invalid(cli("plan", str(bomb)), "document", "aliases")
    invalid(cli("apply", "-", "--format", "yaml", stdin=LAUGHS), "document", "aliases")
    merge = "entries:\n  feature_flag:\n    a: &base {enabled: true}\n    b: {<<: *base}\n"
    invalid(cli("apply", "-", "--format", "yaml", stdin=merge), "document", "aliases")
    deep = "entries: " + "[" * 1000 + "]" * 1000 + "\n"
    invalid(cli("plan", "-", "--format", "yaml", stdin=deep), "document", "nested deeper")
    assert cli("get", "feature_flag/a").returncode == 5


def test_document_size_is_bounded(cli: Runner, tmp_path: Path) -> None:
    doc = tmp_path / "big.json"
    entries = {f"k{i}": {"value": "v" * 1000} for i in range(100)}
    doc.write_text(json.dumps({"entries": {"global_setting": entries}}))
    limit = {"CONDUIT_CONFIG_MAX_DOCUMENT_BYTES": "65536"}
    invalid(cli("apply", str(doc), **limit), "document", "over 65536 bytes")
    assert cli("get", "global_setting/k0").returncode == 5
    deep = {"entries": {"virtual_key": {"x": {"key_hash": KEY_HASH, "metadata": nested(40)}}}}
    doc.write_text(json.dumps(deep))
    invalid(cli("apply", str(doc)), "entries.virtual_key.x.metadata.a")
    assert cli("get", "virtual_key/x").returncode == 5


def test_a_change_of_json_type_is_a_new_version(cli: Runner) -> None:
    area = {
        "CONDUIT_CONFIG_AREAS": "tests.infrastructure.loose_area:LooseConfig",
        "PYTHONPATH": str(ROOT),  # the CLI runs in a temporary directory
    }
    assert cli("set", "loose/k", '{"data": {"x": true}}', **area).returncode == 0
    written = json.loads(cli("--json", "set", "loose/k", '{"data": {"x": 1}}', **area).stdout)
    assert written["changed"] is True
    assert written["version"] == 2
    history = json.loads(cli("--json", "history", "loose/k", **area).stdout)
    assert any(
        change == {"op": "replace", "path": "/data/x", "value": 1}
        for item in history
        for change in item["changes"]
    )
    assert cli("verify", **area).returncode == 0
