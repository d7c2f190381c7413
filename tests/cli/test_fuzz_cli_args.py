"""Fuzzing the CLI's arguments and options: hostile versions, times, positions, names
and ids (Unicode digits, past bigint, 5,000 digits, year 9999 at -14:00, empty, bytes that
are not UTF-8) for diff, get, --at, diff-env, export, history, audit, rollback, snapshots,
scheduled changes and tokens. The checks of every run are in :mod:`tests.cli.fuzz_support`.

The hypothesis budget runs the real entry point in-process: a subprocess per example would
take most of CI's budget. A few fixed invocations go through the installed executable, for
what only a real process has (argv bytes, stdout encoding)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.cli.fuzz_support import (
    ALLOWED,
    Cli,
    argv_text,
    cli_main_fixture,  # noqa: F401 - the cli_main fixture
)
from tests.fuzz.budget import LONG_MARKS, budget, fuzz
from tests.infrastructure.http.fuzz_support import param_text


def _arg(text: str) -> str:
    return argv_text(text.encode("utf-8", "surrogatepass"))


HOSTILE = "<hostile>"
# One text of each kind that broke a CLI parser: a Unicode digit, past bigint, past Python's
# int() limit, a time that only exists in its offset, empty, an undecodable argv byte.
CLI_CORPUS = ("\u00b2", str(2**63), "9" * 5000, "9999-12-31T23:59:59-14:00", "", "\udcff")
# Commands with one hostile argument each; the entry exists at versions 1 and 2.
COMMANDS = [
    ("diff", "router", HOSTILE, "1"),
    ("diff", "router", "1", HOSTILE),
    ("get", "router", "--version", HOSTILE),
    ("get", "router", "--as-of", HOSTILE),
    ("set", "router", '{"max_retries": 2}', "--at", HOSTILE),
    ("patch", "router", '{"max_retries": 2}', "--at", HOSTILE),
    ("delete", "feature_flag/f1", "--at", HOSTILE),
    ("set", "router", '{"max_retries": 2}', "--expected-version", HOSTILE),
    ("diff-env", HOSTILE),
    ("diff-env", "1", HOSTILE),
    ("export", "--as-of", HOSTILE),
    ("export", "--position", HOSTILE),
    ("export", "--snapshot", HOSTILE),
    ("history", "router", "--limit", HOSTILE),
    ("audit", "--before", HOSTILE, "--limit", "3"),
    ("audit", "--since", HOSTILE),
    ("rollback", "router", "--to-version", HOSTILE),
    ("snapshot", "create", HOSTILE),
    ("scheduled", "show", HOSTILE),
    ("scheduled", "cancel", HOSTILE),
    ("snapshot", "show", HOSTILE),
    ("snapshot", "delete", HOSTILE),
    ("audit", "--actor", HOSTILE),
    ("audit", "--area", HOSTILE),
    ("audit", "--key", HOSTILE),
    ("get", HOSTILE),
    ("--env", HOSTILE, "list"),
    ("set", "router", '{"max_retries": 3}', "--reason", HOSTILE),
    ("set", "router", '{"max_retries": 3}', "--actor", HOSTILE),
    ("token", "create", HOSTILE, "--role", "reader"),
    ("token", "revoke", HOSTILE),
]


@fuzz
def test_hostile_arguments(cli_main: Cli) -> None:
    cli_main("set", "router", '{"max_retries": 4}')
    cli_main("patch", "router", '{"max_retries": 5}')
    cli_main("set", "feature_flag/f1", '{"enabled": true}')

    def run_with(command: tuple[str, ...], text: str) -> None:
        cli_main(*(_arg(text) if part == HOSTILE else part for part in command))

    for command, text in itertools.product(COMMANDS, CLI_CORPUS):
        run_with(command, text)
    budget(ci=20, long=2_000)(
        given(command=st.sampled_from(COMMANDS), text=param_text())(run_with)
    )()


# Through the installed executable: what only a real process has.
# (argv, bytes of bad.json, the exit code it must have, if one); the last ones only with
# the long budget (each process takes a second or two of CI's budget).
PROCESS_CASES = [
    pytest.param(("set", "feature_flag/x", "@bad.json"), b'{"description": "\xff\xfe"}', 3),
    pytest.param(("diff", "router", "\u00b2", "1"), None, None),
    pytest.param(("set", "router", "{}", "--at", "9999-12-31T23:59:59-14:00"), None, None),
    pytest.param(
        ("set", "feature_flag/y", "@bad.json"), b'{"a": "\xed\xa0\x80"}', 3, marks=LONG_MARKS
    ),
    pytest.param(("set", "virtual_key/k", "@deep.json"), None, 3, marks=LONG_MARKS),
    pytest.param(("set", "router", '{"max_retries": NaN}'), None, 3, marks=LONG_MARKS),
    pytest.param(("diff-env", "\u0663"), None, None, marks=LONG_MARKS),
    pytest.param(("get", "router", "--as-of", ""), None, 2, marks=LONG_MARKS),
]


@fuzz
@pytest.mark.parametrize(
    ("argv", "data", "code"),
    PROCESS_CASES,
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_hostile_input_through_the_executable(
    cli: Runner,
    store: ConfigStore,
    tmp_path: Path,
    argv: tuple[str, ...],
    data: bytes | None,
    code: int | None,
) -> None:
    deep: Any = 1
    for _ in range(300):
        deep = {"a": deep}
    (tmp_path / "deep.json").write_text(json.dumps({"key_hash": "a" * 64, "metadata": deep}))
    if data is not None:
        (tmp_path / "bad.json").write_bytes(data)
    before = store.index.head()
    proc = cli(*argv)
    assert proc.returncode in ALLOWED, (proc.returncode, proc.stderr)
    assert code is None or proc.returncode == code, (proc.returncode, proc.stderr)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode != 0:
        assert store.index.head() == before
