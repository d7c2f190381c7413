"""Pure value rules: merge patches, sparse normalisation, validation, diffs and hashes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.address import Address
from domain.areas import FallbackConfig, FeatureFlag, GlobalSetting, HttpConfig, RouterConfig
from domain.entry import ConfigEntry, Provenance
from domain.errors import FieldError, InvalidValueError
from domain.values import (
    apply_json_patch,
    complete,
    json_diff,
    json_equal,
    merge_patch,
    normalize,
    validate,
    value_hash,
)

# --- merge_patch (RFC 7396, including the examples of its appendix A) ---------------------


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        (
            {"retry": {"max_retries": 2, "max_delay_s": 9.0}, "timeout_seconds": 5},
            {"retry": {"max_retries": 4, "max_delay_s": None}},
            {"retry": {"max_retries": 4}, "timeout_seconds": 5},
        ),
        (
            {"keys": [{"name": "a"}, {"name": "b"}]},
            {"keys": [{"name": "c"}]},
            {"keys": [{"name": "c"}]},
        ),
        ({"a": 1}, {"missing": None}, {"a": 1}),
    ],
)
def test_merge_patch(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == expected
    assert target == before  # the target is never modified in place


# --- normalize / complete / validate --------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "value", "expected"),
    [
        (RouterConfig, {}, {}),
        (RouterConfig, {"max_retries": "3"}, {"max_retries": 3}),
        (
            RouterConfig,
            {"max_retries": 7.0, "fallbacks_enabled": "true"},
            {"max_retries": 7, "fallbacks_enabled": True},
        ),
        (HttpConfig, {"retry": {"max_retries": "5"}}, {"retry": {"max_retries": 5}}),
        (HttpConfig, {"retry": {"initial_delay_s": "2"}}, {"retry": {"initial_delay_s": 2.0}}),
        (HttpConfig, {"timeout_seconds": 100}, {"timeout_seconds": 100}),
    ],
)
def test_normalize_is_sparse_and_coerced(
    model: type[RouterConfig | HttpConfig], value: dict[str, Any], expected: dict[str, Any]
) -> None:
    result = normalize(model, value, key="default")
    assert result == expected
    assert repr(result) == repr(expected)  # 3, not "3" or 3.0


def test_complete_fills_defaults() -> None:
    assert complete(RouterConfig, {"max_retries": 5}, key="default") == {
        "default_strategy": "simple",
        "max_retries": 5,
        "retry_base_delay_ms": 500,
        "retry_max_delay_ms": 10000,
        "fallbacks_enabled": False,
    }
    assert complete(HttpConfig, {"retry": {"max_retries": 1}}, key="default") == {
        "retry": {"max_retries": 1, "initial_delay_s": 1.0, "max_delay_s": 30.0},
        "timeout_seconds": 100,
    }


def test_validate_returns_instance() -> None:
    instance = validate(RouterConfig, {"default_strategy": "priority"}, key="default")
    assert isinstance(instance, RouterConfig)
    assert instance.default_strategy == "priority"
    assert instance.max_retries == 3


def test_validate_lists_every_bad_field() -> None:
    value = {"max_retries": 11, "default_strategy": "nope", "colour": "red"}
    with pytest.raises(InvalidValueError) as info:
        validate(RouterConfig, value, key="default")
    fields = sorted(e.field for e in info.value.errors)
    assert fields == ["colour", "default_strategy", "max_retries"]
    assert info.value.area == "router"
    assert str(info.value).startswith("invalid router value: ")


def test_validate_nested_error_has_dotted_path() -> None:
    with pytest.raises(InvalidValueError) as info:
        validate(HttpConfig, {"retry": {"max_retries": -1}, "timeout_seconds": 0}, key="default")
    assert sorted(e.field for e in info.value.errors) == ["retry.max_retries", "timeout_seconds"]


def test_validate_model_rule_error_message_has_no_prefix() -> None:
    with pytest.raises(InvalidValueError) as info:
        validate(RouterConfig, {"retry_base_delay_ms": 20000}, key="default")
    (error,) = info.value.errors
    assert error.field == "value"
    assert error.message.startswith("retry_base_delay_ms must be <= retry_max_delay_ms")


@pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
def test_validate_non_object(value: Any) -> None:
    with pytest.raises(InvalidValueError) as info:
        validate(RouterConfig, value, key="default")
    assert info.value.errors == [FieldError("value", "must be a JSON object")]


def test_validate_key_hook_reports_field_key() -> None:
    instance = validate(FallbackConfig, {"fallbacks": ["b", "c"]}, key="a")
    assert isinstance(instance, FallbackConfig)
    assert instance.fallbacks == ["b", "c"]
    with pytest.raises(InvalidValueError) as info:
        validate(FallbackConfig, {"fallbacks": ["b", "a"]}, key="a")
    (error,) = info.value.errors
    assert error.field == "key"
    assert "'a'" in error.message
    assert info.value.area == "fallback"


# --- json_diff / apply_json_patch ------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)
_objects = st.dictionaries(st.text(max_size=5), _json, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_objects, _objects)
def test_diff_apply_round_trip(a: dict[str, Any], b: dict[str, Any]) -> None:
    before = copy.deepcopy(a)
    ops = json_diff(a, b)
    assert json_equal(apply_json_patch(a, ops), b)  # true stays true, 1.0 stays 1.0
    assert a == before  # applied to a copy
    assert (ops == []) == json_equal(a, b)


def test_json_diff_ops() -> None:
    ops = json_diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": [1]})
    assert sorted(ops, key=lambda op: op["path"]) == [
        {"op": "replace", "path": "/b/c", "value": 3},
        {"op": "add", "path": "/d", "value": [1]},
    ]
    assert json_diff({"a": 1}, {"a": 1}) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (True, 1),
        (1, 1.0),
        (False, 0),
        (0.0, -0.0),
        ({"x": True}, {"x": 1}),
        ({"x": [1, {"y": 1}]}, {"x": [1, {"y": 1.0}]}),
        ([1, 2], (1, 2.0)),
        ({"a": 1}, {"a": 1, "b": None}),
        ("1", 1),
        (None, {}),
    ],
)
def test_json_equality_respects_json_types(before: Any, after: Any) -> None:
    assert not json_equal(before, after)
    assert not json_equal(after, before)
    assert json_equal(before, copy.deepcopy(before))
    assert value_hash(before) != value_hash(after)  # so the hash agrees with it


def test_json_equality_of_deep_values_does_not_recurse() -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = {"a": [deep]}
    twin: Any = 1
    for _ in range(10_000):
        twin = {"a": [twin]}
    assert json_equal(deep, twin)


def test_json_diff_sees_type_changes_inside_objects_and_lists() -> None:
    assert json_diff({"x": True}, {"x": 1}) == [{"op": "replace", "path": "/x", "value": 1}]
    assert json_diff({"x": [1]}, {"x": [1.0]}) == [{"op": "replace", "path": "/x/0", "value": 1.0}]
    ops = json_diff({"x": 1}, {"x": 1.0})
    result = apply_json_patch({"x": 1}, ops)
    assert repr(result) == repr({"x": 1.0})


def test_set_with_the_same_value_of_another_json_type_is_a_change() -> None:
    who = Provenance(actor="ops", correlation_id="c")
    entry = ConfigEntry.create(Address("prod", "loose", "k"), {"x": True}, who, 1)
    assert entry.set({"x": 1}, who, 1) is True
    assert entry.patch({"x": 1.0}, who, 1) is True
    assert entry.set({"x": 1.0}, who, 1) is False
    assert repr(entry.value) == repr({"x": 1.0})
    assert entry.version == 3


# --- value_hash -------------------------------------------------------------------------------


def test_value_hash_stable_across_key_order() -> None:
    one = value_hash({"a": 1, "b": {"x": [1, 2], "y": "é"}})
    two = value_hash({"b": {"y": "é", "x": [1, 2]}, "a": 1})
    assert one == two
    assert one.startswith("sha256:")
    assert len(one) == len("sha256:") + 64
    assert all(c in "0123456789abcdef" for c in one.removeprefix("sha256:"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": 1}, {"a": 2}),
        ({"a": 1}, {"b": 1}),
        ({"a": [1, 2]}, {"a": [2, 1]}),
        ({"a": "1"}, {"a": 1}),
        ({}, {"a": None}),
    ],
)
def test_value_hash_differs(a: Any, b: Any) -> None:
    assert value_hash(a) != value_hash(b)


def test_nul_characters_are_refused_naming_each_field() -> None:
    with pytest.raises(InvalidValueError) as caught:
        validate(GlobalSetting, {"value": "a\x00b", "description": "ok\x00"}, key="k")
    assert [e.field for e in caught.value.errors] == ["value", "description"]
    with pytest.raises(InvalidValueError):
        validate(FeatureFlag, {"description\x00": "x"}, key="k")
    with pytest.raises(ValueError, match="must not contain NUL"):
        Provenance(actor="ops", reason="why\x00", correlation_id="c")
