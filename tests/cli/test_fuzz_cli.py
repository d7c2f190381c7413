"""Fuzzing the CLI: hostile values (as an argument, an @file and stdin) for set and patch
of every area, and hostile versions, times and positions for diff, get, --at, diff-env,
export, history and audit. Every exit code is 0, 2, 3, 4 or 5, never 1; no output says
"internal error" or shows a traceback; a failed command appends nothing; a value is
refused exactly when the domain refuses it, and stored as the domain made it.

The hypothesis budget runs the real entry point in-process (``main(argv)``, what the
console script calls, with its own store per call): a subprocess per example would take
most of CI's budget. A few fixed invocations go through the installed executable, for
what only a real process has (argv bytes, stdin and stdout encodings)."""

from __future__ import annotations

import io
import itertools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from domain.areas.base import AreaModel
from domain.errors import InvalidValueError
from domain.values import normalize
from infrastructure.cli.main import main
from infrastructure.store import ConfigStore
from tests.cli.conftest import Runner
from tests.conftest import TEST_SECRET_KEY
from tests.fuzz.areas import (
    AREAS,
    FreeFormConfig,
    key_for,
    near_valid,
    valid_values,
    with_value,
)
from tests.fuzz.budget import LONG_MARKS, budget, fuzz
from tests.fuzz.oracle import NotStrictJsonError, remark, same_json, shown, strict_loads
from tests.fuzz.strategies import VALUE_CORPUS, encode, hostile_json_text
from tests.infrastructure.http.fuzz_support import param_text

ALLOWED = {0, 2, 3, 4, 5}
# The built-in areas (the store of these tests registers no other).
CLI_AREAS = tuple(model for model in AREAS if model is not FreeFormConfig)


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs ``main(argv)`` on the test schema and checks what every run must keep."""

    store: ConfigStore
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    tmp: Path

    def __call__(self, *argv: str, stdin: bytes = b"") -> Outcome:
        before = self.store.index.head()
        remark(f"argv: {shown(argv)} stdin: {shown(stdin)}")
        self.capsys.readouterr()
        with self.monkeypatch.context() as patch:
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
            code = main(list(argv))
        captured = self.capsys.readouterr()
        outcome = Outcome(code, captured.out, captured.err)
        remark(f"-> exit {code}: {shown(outcome.err)}")
        what = f"{shown(argv)} stdin={shown(stdin)} -> exit {code}: {shown(outcome.err)}"
        assert code in ALLOWED, what
        for text in (outcome.out, outcome.err):
            assert "internal error" not in text and "Traceback" not in text, what
        if code != 0:
            assert self.store.index.head() == before, f"appended to the log: {what}"
        return outcome

    def file(self, data: bytes) -> str:
        """``@path`` of a file holding ``data``."""
        path = self.tmp / "value.json"
        path.write_bytes(data)
        return f"@{path}"


@pytest.fixture
def cli_main(
    store: ConfigStore,
    database_url: str,
    schema: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    for name in [n for n in os.environ if n.startswith("CONDUIT_CONFIG_")]:
        monkeypatch.delenv(name)
    settings = {
        "DATABASE_URL": database_url,
        "DATABASE_SCHEMA": schema,
        "SECRET_KEY": TEST_SECRET_KEY,
        "ACTOR": "fuzzer",
        "HOME": str(tmp_path / "home"),
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"CONDUIT_CONFIG_{name}", value)
    return Cli(store, capsys, monkeypatch, tmp_path)


def argv_text(data: bytes) -> str:
    """Bytes as a process receives them in argv (undecodable bytes surrogate-escaped)."""
    return os.fsdecode(data)


def expected(model: type[AreaModel], data: bytes) -> dict[str, Any] | None:
    """The value the domain makes of ``data``, or ``None`` when it must be refused."""
    try:
        value = strict_loads(data)
        return normalize(model, value, key=key_for(model)) if isinstance(value, dict) else None
    except (NotStrictJsonError, InvalidValueError):
        return None


Source = Callable[["Cli", bytes], tuple[str, bytes]]
SOURCES: dict[str, Source] = {
    "argument": lambda cli, data: (argv_text(data), b""),
    "file": lambda cli, data: (cli.file(data), b""),
    "stdin": lambda cli, data: ("-", data),
}


def _address(model: type[AreaModel]) -> str:
    return f"{model.area_name}/{key_for(model)}"


def _bodies(models: tuple[type[AreaModel], ...]) -> st.SearchStrategy[tuple[Any, bytes]]:
    """An area and a hostile value of it, as JSON text."""

    def texts(model: type[AreaModel]) -> st.SearchStrategy[bytes]:
        return st.one_of(
            st.builds(encode, near_valid(model), ascii_only=st.booleans()),
            hostile_json_text(valid_values(model), sorted),
        )

    return st.sampled_from(models).flatmap(lambda m: st.tuples(st.just(m), texts(m)))


def _value_argument(cli: Cli, data: bytes, source: str) -> tuple[str, bytes]:
    if source == "argument" and b"\x00" in data:
        source = "file"  # argv cannot hold NUL
    remark(f"value ({source}): {shown(data)}")
    return SOURCES[source](cli, data)


@fuzz
def test_set_hostile_values(cli_main: Cli) -> None:
    @budget(ci=40, long=3_000)
    @given(drawn=_bodies(CLI_AREAS), source=st.sampled_from(sorted(SOURCES)))
    def run(drawn: tuple[type[AreaModel], bytes], source: str) -> None:
        model, data = drawn
        value, stdin = _value_argument(cli_main, data, source)
        # "--": a value such as -NaN is then a value, not an unknown option
        outcome = cli_main("--json", "set", _address(model), "--", value, stdin=stdin)
        wanted = expected(model, data)
        if wanted is None:
            assert outcome.code == 3, (outcome.code, outcome.err[:300])
            return
        assert outcome.code in (0, 3), outcome.err[:300]
        if outcome.code == 0:
            got = cli_main("--json", "get", _address(model), "--stored", "--reveal")
            assert same_json(json.loads(got.out)["value"], wanted), "stored differently"

    run()


@fuzz
def test_set_value_corpus(cli_main: Cli) -> None:
    """Each corpus value in a free-form field, from a file (as a lenient encoder writes
    it: NaN as a bare token, lone surrogates as escapes)."""
    model = next(m for m in CLI_AREAS if m.area_name == "virtual_key")
    for value in VALUE_CORPUS:
        data = encode(with_value(model, "metadata", value), ascii_only=True)
        outcome = cli_main("set", _address(model), cli_main.file(data))
        assert outcome.code == (3 if expected(model, data) is None else 0), outcome.err[:300]


@fuzz
def test_patch_hostile_values(cli_main: Cli) -> None:
    @budget(ci=15, long=2_000)
    @given(drawn=_bodies(CLI_AREAS), source=st.sampled_from(sorted(SOURCES)))
    def run(drawn: tuple[type[AreaModel], bytes], source: str) -> None:
        model, data = drawn
        value, stdin = _value_argument(cli_main, data, source)
        cli_main("patch", _address(model), "--", value, stdin=stdin)

    run()


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


KEY_HASH = "a" * 64
# YAML a safe loader must refuse or bound: aliases (a small bomb, a merge key, a cycle),
# Python tags, NaN and infinity, integers past 64 bits, bad dates, deep nesting.
YAML_CORPUS = (  # each must be refused (exit 3)
    "entries:\n  router:\n    default: &a {max_retries: 1}\n  cache:\n    default: *a\n",
    "a: &a [1, 1]\nb: &b [*a, *a]\nentries: {virtual_key: {k: {metadata: {x: [*b, *b]}}}}\n",
    "base: &b {enabled: true}\nentries: {feature_flag: {f: {<<: *b}}}\n",
    "entries: &e {feature_flag: {f: {description: *e}}}\n",
    "entries: !!python/object/apply:os.system ['true']\n",
    f"entries: {{virtual_key: {{k: {{key_hash: {KEY_HASH}, metadata: {{a: .nan}}}}}}}}\n",
    f"entries: {{virtual_key: {{k: {{key_hash: {KEY_HASH}, metadata: {{a: -.inf}}}}}}}}\n",
    f"entries: {{virtual_key: {{k: {{key_hash: {KEY_HASH}, metadata: {{a: 0x{'f' * 40}}}}}}}}}\n",
    "entries: {model_cost: {m: {model_id_pattern: x, effective_date: 2024-13-45}}}\n",
    "entries: " + "[" * 5_000 + "]" * 5_000 + "\n",
    'entries: {feature_flag: {f: {description: "\\ud800"}}}\n',
)
DOCUMENT_COMMANDS = (("plan",), ("apply", "--dry-run"), ("apply",))


def _document(entries: list[tuple[type[AreaModel], dict[str, Any]]]) -> dict[str, Any]:
    document: dict[str, Any] = {"entries": {}}
    for model, value in entries:
        document["entries"].setdefault(model.area_name, {})[key_for(model)] = value
    return document


@fuzz
def test_documents(cli_main: Cli, tmp_path: Path) -> None:
    """Documents as YAML and JSON files, through plan and apply."""

    def run_with(command: tuple[str, ...], text: bytes, suffix: str) -> Outcome:
        path = tmp_path / f"document{suffix}"
        path.write_bytes(text)
        remark(f"{suffix}: {shown(text)}")
        return cli_main(*command, str(path))

    for text in YAML_CORPUS:  # plan and apply read a file the same way
        outcome = run_with(("plan",), text.encode("utf-8", "surrogatepass"), ".yaml")
        assert outcome.code == 3, (text[:200], outcome.err[:300])
    documents = st.lists(
        st.sampled_from(CLI_AREAS).flatmap(lambda m: st.tuples(st.just(m), near_valid(m))),
        min_size=1,
        max_size=3,
    ).map(_document)

    @budget(ci=6, long=1_000)
    @given(command=st.sampled_from(DOCUMENT_COMMANDS), document=documents, as_yaml=st.booleans())
    def run(command: tuple[str, ...], document: dict[str, Any], as_yaml: bool) -> None:
        if as_yaml:
            text = yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogatepass")
        else:
            text = encode(document, ascii_only=True)
        outcome = run_with(command, text, ".yaml" if as_yaml else ".json")
        if _refused(document):
            assert outcome.code == 3, "an invalid entry makes the whole document exit 3"

    run()


def _refused(document: dict[str, Any]) -> bool:
    """Whether the domain refuses one of the document's entries."""
    for area, keyed in document["entries"].items():
        model = next(m for m in CLI_AREAS if m.area_name == area)
        for key, value in keyed.items():
            try:
                normalize(model, value, key=key)
            except InvalidValueError:
                return True
    return False


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
