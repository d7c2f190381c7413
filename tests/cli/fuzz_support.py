"""Running the CLI's entry point in-process for the fuzz tests, with the checks every run
must pass: exit code 0, 2, 3, 4 or 5 (never 1), no "internal error" or traceback, nothing
appended to the log by a command that failed.

``main(argv)`` is what the console script calls; each call opens its own store, as a
process would. Arguments are passed as a process receives them: bytes that are not UTF-8
arrive surrogate-escaped (``os.fsdecode``)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.areas.base import AreaModel
from domain.errors import InvalidValueError
from domain.values import normalize
from infrastructure.cli.main import main
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY
from tests.fuzz.areas import AREAS, FreeFormConfig, key_for
from tests.fuzz.oracle import NotStrictJsonError, remark, shown, strict_loads

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


@pytest.fixture(name="cli_main")
def cli_main_fixture(
    store: ConfigStore,
    database_url: str,
    schema: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """Runs the CLI in this process on the test schema (settings from the environment,
    as the console script reads them)."""
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
