"""Fuzzing what the API parses besides bodies: query parameters (versions, times,
positions, cursors, limits, flags), the If-Match / If-None-Match / Last-Event-ID headers
and path segments, with Unicode digits, 5,000-digit numbers, year-9999 times with
extreme offsets, lone surrogates and invalid UTF-8. No answer is a 5xx; an error is
problem+json; a 4xx appends nothing."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.store import ConfigStore
from tests.fuzz.budget import budget, fuzz
from tests.infrastructure.http.conftest import Headers
from tests.infrastructure.http.fuzz_support import (
    CORPUS,
    PROBLEM,
    Checker,
    header_value,
    param_text,
    query,
    remark,
    segment,
    shown,
    stream_answer,
)

ENV = "fuzz"
ENTRY = f"/v1/envs/{ENV}/entries/router/default"
FLAG = f"/v1/envs/{ENV}/entries/feature_flag/f1"
POSITION_PARAMS = {"min_position", "position", "before", "after", "expected_position"}


@pytest.fixture
def check(client: TestClient, store: ConfigStore, admin: Headers) -> Checker:
    """A checker over a seeded environment: an entry with two versions, a snapshot."""
    checker = Checker(client, store, admin)
    checker.send("PUT", ENTRY, json={"max_retries": 4})
    checker.send("PATCH", ENTRY, json={"max_retries": 5})
    checker.send("PUT", FLAG, json={"enabled": True})
    checker.send("POST", f"/v1/envs/{ENV}/snapshots", json={"name": "seeded"})
    return checker


def waits(name: str, text: str) -> bool:
    """A valid position past the log's head waits (10 s, then 503 by design): not what
    this test is about, so such values are not sent."""
    if name not in POSITION_PARAMS:
        return False
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and 50 < number < 2**63


# Values each parameter may take that get a request past its checks.
PLAUSIBLE = {
    "version": "1", "as_of": "2030-01-01T00:00:00Z", "stored": "true", "reveal": "false",
    "from": "1", "to": "2", "effective": "false", "limit": "5", "position": "1",
    "snapshot": "seeded", "include_secrets": "false", "area": "router", "min_position": "1",
    "automatic": "true", "include_done": "true", "before": "3", "env": ENV, "key": "default",
    "actor": "setup", "since": "2000-01-01", "until": "2100-01-01", "expected_position": "1",
    "dry_run": "true", "prune": "false",
}  # fmt: skip


def _split(names: list[str]) -> tuple[list[str], set[str]]:
    return [name.rstrip("!") for name in names], {n.rstrip("!") for n in names if n[-1] == "!"}


def corpus_sweep(names: list[str]) -> Iterator[dict[str, str]]:
    """Every corpus text in every one of ``names``, the required others plausible."""
    plain, required = _split(names)
    for target in plain:
        for text in CORPUS:
            if not waits(target, text):
                yield {**{n: PLAUSIBLE[n] for n in required if n != target}, target: text}


def params(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """One of ``names`` hostile; each other one plausible or absent (a required one,
    marked ``!``, always there)."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, str]:
        plain, required = _split(names)
        target = draw(st.sampled_from(plain))
        drawn = {
            name: PLAUSIBLE[name]
            for name in plain
            if name != target and (name in required or draw(st.booleans()))
        }
        hostile = draw(param_text().filter(lambda text: not waits(target, text)))
        return {**drawn, target: hostile}

    return build()


READS: list[tuple[str, str, list[str]]] = [
    ("GET", ENTRY, ["version", "as_of", "stored", "reveal"]),
    ("GET", ENTRY + "/diff", ["from!", "to!", "effective"]),
    ("GET", ENTRY + "/history", ["limit"]),
    ("GET", f"/v1/envs/{ENV}", ["as_of", "position", "snapshot", "include_secrets"]),
    ("GET", f"/v1/envs/{ENV}/state", ["include_secrets"]),
    ("GET", f"/v1/envs/{ENV}/diff", ["from!", "to"]),
    ("GET", f"/v1/envs/{ENV}/entries", ["area", "min_position"]),
    ("GET", f"/v1/envs/{ENV}/snapshots", ["automatic"]),
    ("GET", f"/v1/envs/{ENV}/scheduled", ["include_done"]),
    ("GET", "/v1/audit", ["before", "limit", "min_position"]),
    ("GET", "/v1/audit", ["env", "area", "key", "actor", "since", "until"]),
    ("POST", f"/v1/envs/{ENV}/apply", ["expected_position", "dry_run", "prune"]),
    ("POST", f"/v1/envs/{ENV}/plan", ["prune"]),
]


@fuzz
def test_query_parameters(check: Checker) -> None:
    document = {"entries": {"feature_flag": {"f1": {"enabled": False}}}}

    def send(method: str, path: str, drawn: dict[str, str]) -> None:
        check.send(
            method, f"{path}?{query(**drawn)}", **({"json": document} if method == "POST" else {})
        )

    for method, path, names in READS:
        for swept in corpus_sweep(names):
            send(method, path, swept)

    @budget(ci=60, long=5_000)
    @given(read=st.sampled_from(READS), data=st.data())
    def run(read: tuple[str, str, list[str]], data: st.DataObject) -> None:
        method, path, names = read
        send(method, path, data.draw(params(names)))

    run()


ETAG_FORMS = ("{}", '"{}"', 'W/"{}"')
HEADERS = ("If-Match", "If-None-Match")
WRITES = [
    ("PUT", FLAG, {"enabled": False}),
    ("PATCH", FLAG, {"rollout_percent": 50}),
    ("DELETE", FLAG, None),
    ("POST", FLAG + "/undelete", None),
    ("POST", FLAG + "/rollback", {"to_version": 1}),
]


@fuzz
def test_precondition_headers(check: Checker) -> None:
    def send(write: tuple[str, str, Any], name: str, text: str) -> None:
        method, path, body = write
        headers = {name: header_value(text)}
        check.send(method, path, headers=headers, **({} if body is None else {"json": body}))

    for write, name, text, form in itertools.product(WRITES, HEADERS, CORPUS, ETAG_FORMS):
        if name == "If-Match" or write[0] == "PUT":
            send(write, name, form.format(text))

    @budget(ci=40, long=3_000)
    @given(
        write=st.sampled_from(WRITES),
        name=st.sampled_from(HEADERS),
        text=param_text(),
        form=st.sampled_from(ETAG_FORMS),
    )
    def run(write: tuple[str, str, Any], name: str, text: str, form: str) -> None:
        send(write, name if write[0] == "PUT" else "If-Match", form.format(text))

    run()


RESUME = ("Last-Event-ID", "after", "env", "area")


@fuzz
def test_change_stream_resume_points(check: Checker) -> None:
    token = check.headers["Authorization"].encode()

    def resume(where: str, text: str) -> None:
        headers = {"authorization": token}
        if where == "Last-Event-ID":
            headers["last-event-id"] = header_value(text)
            query_string = ""
        else:
            query_string = query(**{where: text})
        remark(f"/v1/changes?{query_string} headers={shown(headers)}")
        status, answer_headers, content = stream_answer(
            check.client, "/v1/changes", query_string, headers
        )
        remark(f"-> {status} {shown(content)}")
        assert status < 500, (where, text, content[:500])
        if status != 200:
            assert answer_headers[b"content-type"].decode() == PROBLEM, (where, text)

    for where, text in itertools.product(RESUME, CORPUS):
        resume(where, text)
    budget(ci=20, long=2_000)(given(where=st.sampled_from(RESUME), text=param_text())(resume))()


PATHS = [
    ("GET", "/v1/envs/{0}/entries/{1}/{2}", None),
    ("PUT", "/v1/envs/{0}/entries/{1}/{2}", {}),
    ("GET", "/v1/envs/{0}/entries/{1}/{2}/history", None),
    ("GET", "/v1/envs/{0}", None),
    ("GET", "/v1/envs/{0}/snapshots/{1}", None),
    ("DELETE", "/v1/envs/{0}/snapshots/{1}", None),
    ("GET", "/v1/envs/{0}/scheduled/{1}", None),
    ("DELETE", "/v1/tokens/{0}", None),
    ("GET", "/v1/areas/{0}/schema", None),
]


@fuzz
def test_path_segments(check: Checker) -> None:
    def send(method: str, template: str, body: Any, parts: list[str]) -> None:
        url = template.format(*(segment(part) for part in parts))
        check.send(method, url, **({} if body is None else {"json": body}))

    for (method, template, body), text in itertools.product(PATHS, CORPUS):
        known = [ENV, "feature_flag", "f1"] if "{2}" in template else [ENV, "seeded", "f1"]
        for at in range(template.count("{")):
            send(method, template, body, [text if i == at else known[i] for i in range(3)])
    plain = st.sampled_from((ENV, "router", "default", "feature_flag", "f1", "seeded"))

    @budget(ci=30, long=3_000)
    @given(
        path=st.sampled_from(PATHS),
        parts=st.lists(st.one_of(plain, param_text()), min_size=3, max_size=3),
    )
    def run(path: tuple[str, str, Any], parts: list[str]) -> None:
        send(*path, parts)

    run()
