"""Fuzzing the CLI with hostile values: for set and patch of every area (as an argument,
an @file and stdin; near-valid values and raw JSON text with NaN, ``\\ud800`` escapes,
5,000-digit numbers, 100,000-deep nesting, invalid UTF-8), a corpus of hostile values in a
free-form field, and documents (JSON and YAML, with a corpus of YAML a safe loader must
refuse) through plan and apply. Besides the checks of every run (see
:mod:`tests.cli.fuzz_support`), a value or document is refused (exit 3) exactly when the
domain refuses it, and stored as the domain made it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from domain.areas.base import AreaModel
from tests.cli.fuzz_support import (
    CLI_AREAS,
    SOURCES,
    Cli,
    Outcome,
    cli_main_fixture,  # noqa: F401 - the cli_main fixture
    expected,
)
from tests.fuzz.areas import key_for, near_valid, valid_values, with_value
from tests.fuzz.budget import budget, fuzz
from tests.fuzz.oracle import document_refused, remark, same_json, shown
from tests.fuzz.strategies import VALUE_CORPUS
from tests.fuzz.text import encode, hostile_json_text


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
        if document_refused(document, CLI_AREAS):
            assert outcome.code == 3, "an invalid entry makes the whole document exit 3"

    run()
