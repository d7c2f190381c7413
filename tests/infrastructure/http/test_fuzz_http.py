"""Fuzzing request bodies: hostile values of every area through PUT and PATCH (as JSON a
lenient client writes, and as raw text with NaN, ``\\ud800`` escapes, 5,000-digit numbers,
100,000-deep nesting, invalid UTF-8), documents through plan and apply, and the other
bodies the API takes. No answer is a 5xx; an error is problem+json; a 4xx appends
nothing; a PUT is refused exactly when the domain refuses the value, and what is stored
is exactly what the domain made of it; after any accepted write the whole environment
still reads.

Each test first sweeps a fixed corpus (every bad fragment, every hostile parameter text)
and then lets hypothesis explore; the area is part of what is drawn, so one test (one
store) covers every area."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from domain.areas.base import AreaModel
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener
from tests.fuzz.areas import (
    AREAS,
    FREE_FORM_AREA,
    free_form_fields,
    key_for,
    near_valid,
    valid_values,
    with_value,
)
from tests.fuzz.budget import budget, fuzz
from tests.fuzz.oracle import described, document_refused, same_json, shown
from tests.fuzz.strategies import VALUE_CORPUS, hostile_json
from tests.fuzz.text import BAD_FRAGMENTS, embed, encode, hostile_fragment, hostile_json_text
from tests.infrastructure.http.conftest import Headers
from tests.infrastructure.http.fuzz_support import (
    CORPUS,
    Checker,
    expected_put,
    param_text,
    transport_refusal,
)

ENV = "fuzz"
JSON = {"content-type": "application/json"}
VIRTUAL_KEY = next(m for m in AREAS if m.area_name == "virtual_key")


@pytest.fixture
def store(open_test_store: StoreOpener) -> Iterator[ConfigStore]:
    """A store that also knows a user-defined area with free-form fields."""
    with open_test_store(areas=FREE_FORM_AREA) as opened:
        yield opened


@pytest.fixture
def check(client: TestClient, store: ConfigStore, admin: Headers) -> Checker:
    return Checker(client, store, admin)


def entry_url(model: type[AreaModel]) -> str:
    return f"/v1/envs/{ENV}/entries/{model.area_name}/{key_for(model)}"


def put_and_compare(check: Checker, model: type[AreaModel], body: bytes) -> None:
    """PUT ``body``; the answer must be what the domain says of it."""
    expected = expected_put(model, key_for(model), body)
    response = check.send("PUT", entry_url(model), content=body, headers=JSON)
    what = f"{model.area_name}: {shown(body, 300)} -> {response.status_code}"
    if isinstance(expected, tuple):
        assert response.status_code in expected, f"expected {expected}: {what}"
        return
    assert response.status_code in (200, 201, 422), what
    if response.status_code == 422:
        return
    read = check.client.get(f"{entry_url(model)}?stored=true&reveal=true", headers=check.headers)
    assert read.status_code == 200, read.text[:300]
    assert same_json(read.json()["value"], expected), f"stored differently: {what}"
    check.environment_reads(ENV)


def per_area(values: Any) -> st.SearchStrategy[tuple[type[AreaModel], Any]]:
    """An area, and one of ``values(area)``."""
    return st.sampled_from(AREAS).flatmap(lambda m: st.tuples(st.just(m), values(m)))


@fuzz
def test_put_bad_json_fragments(check: Checker) -> None:
    """Every fragment no strict parser takes, as the whole body and inside a value."""
    valid = {"key_hash": "a" * 64, "metadata": {}}
    for fragment in BAD_FRAGMENTS:
        put_and_compare(check, VIRTUAL_KEY, fragment)
        put_and_compare(check, VIRTUAL_KEY, embed(valid, "description", fragment))
        deep = embed({"a": {}}, "a", fragment)
        put_and_compare(check, VIRTUAL_KEY, embed(valid, "metadata", deep))


@fuzz
def test_put_value_corpus(check: Checker) -> None:
    """Each corpus value (deep, past 64 bits, NaN, lone surrogates, huge...) in each
    free-form field, as a lenient client encodes it (NaN as a bare token, surrogates as
    escapes or as their invalid UTF-8)."""
    free = [(model, field) for model in AREAS for field in free_form_fields(model)]
    for (model, field), value in itertools.product(free, VALUE_CORPUS):
        for ascii_only in (True, False):
            with described(f"{model.area_name}.{field} = {shown(value)}"):
                body = encode(with_value(model, field, value), ascii_only=ascii_only)
                put_and_compare(check, model, body)


@fuzz
def test_put_hostile_values(check: Checker) -> None:
    @budget(ci=60, long=5_000)
    @given(drawn=per_area(near_valid), ascii_only=st.booleans())
    def run(drawn: tuple[type[AreaModel], dict[str, Any]], ascii_only: bool) -> None:
        model, value = drawn
        put_and_compare(check, model, encode(value, ascii_only=ascii_only))

    run()


@fuzz
def test_put_hostile_json_text(check: Checker) -> None:
    texts = per_area(lambda m: hostile_json_text(valid_values(m), sorted))

    @budget(ci=40, long=3_000)
    @given(drawn=texts)
    def run(drawn: tuple[type[AreaModel], bytes]) -> None:
        put_and_compare(check, *drawn)

    run()


@fuzz
def test_patch_hostile_values(check: Checker) -> None:
    bodies = per_area(
        lambda m: st.one_of(
            st.builds(encode, near_valid(m), ascii_only=st.booleans()),
            hostile_json_text(near_valid(m), sorted),
        )
    )

    @budget(ci=30, long=3_000)
    @given(drawn=bodies)
    def run(drawn: tuple[type[AreaModel], bytes]) -> None:
        model, body = drawn
        response = check.send("PATCH", entry_url(model), content=body, headers=JSON)
        if response.status_code < 300:
            check.environment_reads(ENV)

    run()


def _document(entries: list[tuple[type[AreaModel], dict[str, Any]]]) -> dict[str, Any]:
    document: dict[str, Any] = {"entries": {}}
    for model, value in entries:
        document["entries"].setdefault(model.area_name, {})[key_for(model)] = value
    return document


documents = st.lists(per_area(near_valid), min_size=1, max_size=3).map(_document)
TOP_LEVEL = ("environment", "entries", "position", "recorded_at", "extra", "")
spoiled_documents = st.one_of(
    st.builds(
        lambda d, field, v: encode({**d, field: v}, ascii_only=True),
        documents,
        st.sampled_from(TOP_LEVEL),
        hostile_json(),
    ),
    hostile_json_text(documents, lambda d: list(TOP_LEVEL)),
)
OPERATIONS = ("plan", "apply", "apply?dry_run=true")


@fuzz
def test_documents(check: Checker) -> None:
    @budget(ci=30, long=3_000)
    @given(
        operation=st.sampled_from(OPERATIONS),
        document=documents,
        text=spoiled_documents,
        use_text=st.booleans(),
    )
    def run(operation: str, document: dict[str, Any], text: bytes, use_text: bool) -> None:
        body = text if use_text else encode(document, ascii_only=True)
        response = check.send("POST", f"/v1/envs/{ENV}/{operation}", content=body, headers=JSON)
        refusal = transport_refusal(body)
        if refusal is not None:
            assert response.status_code in refusal, "not strict JSON, or too large"
        elif not use_text and document_refused(document, AREAS):
            assert response.status_code == 422, "an invalid entry makes the whole document 422"
        if response.status_code < 300:
            check.environment_reads(ENV)

    run()


# Bodies of the other operations: a valid body, whose members get spoiled.
LATER = "2030-01-01T00:00:00Z"
OTHER_BODIES = [
    ("POST", f"/v1/envs/{ENV}/entries/router/default/rollback", {"to_version": 1}),
    ("POST", f"/v1/envs/{ENV}/entries/router/default/rollback", {"to_time": LATER}),
    ("POST", f"/v1/envs/{ENV}/restore", {"to_time": LATER, "dry_run": True}),
    ("POST", f"/v1/envs/{ENV}/restore", {"to_position": 1, "dry_run": True}),
    ("POST", f"/v1/envs/{ENV}/restore", {"to_snapshot": "s1", "dry_run": True}),
    ("POST", f"/v1/envs/{ENV}/promote", {"source": "default", "dry_run": True}),
    ("POST", f"/v1/envs/{ENV}/snapshots", {"name": "s2"}),
    ("POST", "/v1/tokens", {"name": "t-fuzz", "role": "reader", "expires_at": LATER}),
    ("POST", f"/v1/envs/{ENV}/scheduled", {
        "area": "router", "key": "default", "operation": "patch",
        "value": {"max_retries": 2}, "due_at": LATER, "expected_version": 1,
    }),
]  # fmt: skip


@fuzz
def test_other_bodies(check: Checker) -> None:
    check.send("PUT", f"/v1/envs/{ENV}/entries/router/default", json={"max_retries": 1})
    check.send("POST", f"/v1/envs/{ENV}/snapshots", json={"name": "s1"})
    for method, url, valid in OTHER_BODIES:
        for field, text in itertools.product([*valid, "reason"], CORPUS):
            body = encode({**valid, field: text}, ascii_only=True)
            check.send(method, url, content=body, headers=JSON)

    @budget(ci=40, long=3_000)
    @given(
        target=st.sampled_from(OTHER_BODIES),
        data=st.data(),
        value=st.one_of(hostile_json(), param_text()),
        fragment=hostile_fragment(),
        raw=st.booleans(),
    )
    def run(
        target: tuple[str, str, dict[str, Any]],
        data: st.DataObject,
        value: Any,
        fragment: bytes,
        raw: bool,
    ) -> None:
        method, url, valid = target
        field = data.draw(st.sampled_from([*valid, "reason", "extra"]))
        spoiled = encode({**valid, field: value}, ascii_only=True)
        body = embed(valid, field, fragment) if raw else spoiled
        check.send(method, url, content=body, headers=JSON)

    run()
