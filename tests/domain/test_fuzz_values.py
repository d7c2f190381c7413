"""Fuzzing the value rules with hostile JSON, for every area (and a user-defined one with
free-form fields): validation either returns a value or raises ``InvalidValueError``;
whatever it accepts is storable as is (orjson, as the event store encodes it), hashes,
validates again unchanged (as every read does), and diffs exactly, JSON types included."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.areas.base import AreaModel
from domain.errors import InvalidValueError
from domain.values import apply_json_patch, complete, json_diff, normalize, value_hash
from tests.fuzz.areas import (
    AREAS,
    FreeFormConfig,
    confusable,
    key_for,
    near_valid,
    seed,
    valid_values,
    with_value,
)
from tests.fuzz.budget import budget, fuzz
from tests.fuzz.oracle import described, same_json, shown
from tests.fuzz.strategies import VALUE_CORPUS, hostile_json, hostile_object

IDS = [model.area_name for model in AREAS]


def accepted(model: type[AreaModel], value: Any) -> dict[str, Any] | None:
    """The normalised value, or ``None`` when refused with field errors; any other
    exception is a bug and propagates."""
    try:
        return normalize(model, value, key=key_for(model))
    except InvalidValueError as exc:
        assert exc.errors, "a refusal names at least one field"
        assert all(isinstance(e.field, str) and e.message for e in exc.errors)
        str(exc)  # the message can be shown
        return None


def check_storable(model: type[AreaModel], stored: dict[str, Any]) -> None:
    """What the log would record survives encoding, hashing and every later read."""
    decoded = orjson.loads(orjson.dumps(stored))
    assert same_json(decoded, stored), "orjson changed the value"
    assert value_hash(decoded) == value_hash(stored)
    again = normalize(model, decoded, key=key_for(model))
    assert same_json(again, decoded), "a stored value validates differently when read back"
    orjson.dumps(complete(model, decoded, key=key_for(model)))


@fuzz
@pytest.mark.parametrize("model", AREAS, ids=IDS)
def test_hostile_values_are_refused_or_stored_exactly(model: type[AreaModel]) -> None:
    @budget(ci=25, long=2_000)
    @given(value=near_valid(model))
    def check(value: dict[str, Any]) -> None:
        stored = accepted(model, value)
        if stored is not None:
            check_storable(model, stored)

    check()


@fuzz
@pytest.mark.parametrize("model", AREAS, ids=IDS)
def test_value_corpus_in_every_field(model: type[AreaModel]) -> None:
    """Each corpus value (deep, past 64 bits, NaN, lone surrogates, huge...) in each field."""
    assert accepted(model, seed(model)) is not None, "the seed is valid"
    for field, value in itertools.product(sorted(model.model_fields), VALUE_CORPUS):
        with described(f"{model.area_name}.{field} = {shown(value)}"):
            stored = accepted(model, with_value(model, field, value))
            if stored is not None:
                check_storable(model, stored)


@fuzz
@pytest.mark.parametrize("model", AREAS, ids=IDS)
def test_any_json_as_a_whole_value(model: type[AreaModel]) -> None:
    @budget(ci=10, long=500)
    @given(value=hostile_json())
    def check(value: Any) -> None:
        stored = accepted(model, value)
        if stored is not None:
            check_storable(model, stored)

    check()


FREE = [
    (model, field)
    for model in AREAS
    for field in ("metadata", "data")
    if field in model.model_fields
]


@fuzz
@pytest.mark.parametrize(("model", "field"), FREE, ids=[m.area_name for m, _ in FREE])
def test_hostile_free_form_content(model: type[AreaModel], field: str) -> None:
    """Free-form fields accept any JSON the schema allows, so the value limits alone
    stand between hostile content and the log."""

    @budget(ci=60, long=3_000)
    @given(base=valid_values(model), content=hostile_object())
    def check(base: dict[str, Any], content: dict[str, Any]) -> None:
        stored = accepted(model, {**base, field: content})
        if stored is not None:
            check_storable(model, stored)

    check()


def _pair(model: type[AreaModel]) -> st.SearchStrategy[tuple[Any, Any]]:
    """Two values of an area: unrelated, or the second differing from the first in one
    leaf's JSON type only."""
    start = st.one_of(valid_values(model), near_valid(model))
    return start.flatmap(
        lambda first: st.tuples(
            st.just(first), st.one_of(confusable(first), valid_values(model), near_valid(model))
        )
    )


@fuzz
@pytest.mark.parametrize("model", AREAS, ids=IDS)
def test_diffs_between_accepted_values_are_exact(model: type[AreaModel]) -> None:
    @budget(ci=15, long=1_500)
    @given(pair=_pair(model))
    def check(pair: tuple[Any, Any]) -> None:
        before, after = (accepted(model, value) for value in pair)
        if before is None or after is None:
            return
        ops = json_diff(before, after)
        assert same_json(apply_json_patch(before, ops), after), ops
        assert json_diff(before, before) == []
        if not same_json(before, after):
            assert ops, "a change of JSON type is a change"
            assert value_hash(before) != value_hash(after)

    check()


@fuzz
def test_type_changes_inside_free_form_values_are_changes() -> None:
    """``true`` -> ``1`` -> ``1.0`` deep in a loosely typed field: diff and hash see it."""

    @budget(ci=60, long=3_000)
    @given(
        first=valid_values(FreeFormConfig).flatmap(lambda v: st.tuples(st.just(v), confusable(v)))
    )
    def check(first: tuple[dict[str, Any], dict[str, Any]]) -> None:
        before, after = (accepted(FreeFormConfig, value) for value in first)
        if before is None or after is None:
            return
        ops = json_diff(before, after)
        assert same_json(apply_json_patch(before, ops), after), ops
        assert bool(ops) == (not same_json(before, after))

    check()
