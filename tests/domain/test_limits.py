"""Value limits: one iterative walk bounds depth, size, strings, keys, members, integers,
floats and Unicode, and names each place; ``validate`` applies it before the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.areas import GlobalSetting, RouterConfig, VirtualKey, builtin_registry
from domain.document import parse_document, prepare_values
from domain.errors import InvalidValueError
from domain.limits import (
    DEFAULT_LIMITS,
    INT64_MAX,
    INT64_MIN,
    MAX_ERRORS,
    ValueLimits,
    path_segment,
)
from domain.values import canonical_json, complete, merge_patch, validate

KEY_HASH = "a" * 64


def nested(depth: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` with ``depth`` objects."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def fields(value: Any, limits: ValueLimits = DEFAULT_LIMITS) -> list[str]:
    return [e.field for e in limits.errors(value)]


def refused(model: Any, value: Any, **kwargs: Any) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as caught:
        validate(model, value, key="k", **kwargs)
    return caught.value


def test_defaults_are_documented_and_far_below_what_orjson_can_encode() -> None:
    assert DEFAULT_LIMITS.max_depth == 32
    assert DEFAULT_LIMITS.max_value_bytes == 262_144
    assert DEFAULT_LIMITS.max_string_chars == 65_536
    assert DEFAULT_LIMITS.max_key_chars == 256
    assert DEFAULT_LIMITS.max_members == 10_000
    for name, info in ValueLimits.model_fields.items():
        assert info.description, name
    with pytest.raises(ValidationError):
        ValueLimits(max_depth=254)
    with pytest.raises(ValidationError):
        ValueLimits(max_depth=101)
    assert ValueLimits(max_depth=100).max_depth == 100


def test_depth_is_counted_from_the_value_itself() -> None:
    limits = ValueLimits(max_depth=8)
    assert fields({"m": nested(7)}, limits) == []  # 1 + 7 objects
    assert fields({"m": nested(8)}, limits) == ["m.a.a.a.a.a.a.a"]
    assert fields({"m": [[[[[[[[1]]]]]]]]}, limits) == ["m.0.0.0.0.0.0.0"]
    (error,) = limits.errors({"m": nested(8)})
    assert error.message == "is nested deeper than 8 levels"


def test_ten_thousand_levels_are_a_clean_invalid_value_not_a_recursion_error() -> None:
    deep = {"key_hash": KEY_HASH, "metadata": nested(10_000)}
    error = refused(VirtualKey, deep)
    (only,) = error.errors
    assert only.field == "metadata" + ".a" * 31
    assert "nested deeper than 32 levels" in only.message
    deep_list: Any = 1
    for _ in range(10_000):
        deep_list = [deep_list]
    assert refused(VirtualKey, {"key_hash": KEY_HASH, "metadata": {"x": deep_list}}).errors


def test_250_levels_of_metadata_are_refused_naming_metadata() -> None:
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "metadata": nested(250)})
    assert error.area == "virtual_key"
    assert error.errors[0].field.startswith("metadata.a.a")


def test_integers_must_fit_signed_64_bits() -> None:
    assert fields({"a": INT64_MAX, "b": INT64_MIN}) == []
    assert fields({"a": INT64_MAX + 1, "b": INT64_MIN - 1, "c": [2**64]}) == ["a", "b", "c.0"]
    assert fields({"a": True, "b": False}) == []  # booleans are not integers here
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "rate_limit_rpm": 2**64})
    assert [e.field for e in error.errors] == ["rate_limit_rpm"]
    assert "64-bit" in error.errors[0].message
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "metadata": {"n": -(2**70)}})
    assert [e.field for e in error.errors] == ["metadata.n"]


@pytest.mark.parametrize("coerced", [1e30, "1" * 30])
def test_what_the_schema_makes_of_a_value_is_bounded_too(coerced: Any) -> None:
    """pydantic turns 1e30 (or a 30-digit string) into a 31-digit int for an int field."""
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "rate_limit_rpd": coerced})
    assert [e.field for e in error.errors] == ["rate_limit_rpd"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_floats_must_be_finite(bad: float) -> None:
    assert fields({"m": {"x": [bad]}}) == ["m.x.0"]
    assert "finite" in DEFAULT_LIMITS.errors({"x": bad})[0].message
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "metadata": {"x": bad}})
    assert [e.field for e in error.errors] == ["metadata.x"]


def test_strings_and_keys_must_be_valid_unicode_without_nul() -> None:
    errors = DEFAULT_LIMITS.errors({"s": "a\ud800", "\udfffk": 1, "n": "a\x00", "k\x00": 2})
    by_field = {e.field: e.message for e in errors}
    assert by_field == {
        "s": "is not valid Unicode (it holds a lone surrogate)",
        "\\udfffk": "key is not valid Unicode (it holds a lone surrogate)",
        "n": "must not contain NUL characters",
        "k\\x00": "key must not contain NUL characters",
    }
    for field in by_field:  # error paths are themselves encodable text
        field.encode("utf-8")
    error = refused(VirtualKey, {"key_hash": KEY_HASH, "metadata": {"\ud800": 1}})
    assert [e.field for e in error.errors] == ["metadata.\\ud800"]
    assert "\U0001f600" not in str(fields({"ok \U0001f600": "é \U0001f600"}))


def test_string_key_and_member_counts_are_bounded() -> None:
    limits = ValueLimits(max_string_chars=1024, max_key_chars=64, max_members=100)
    assert fields({"s": "x" * 1024, "k" * 64: 1, "l": list(range(100))}, limits) == []
    value = {
        "s": "x" * 1025,
        "k" * 65: 1,
        "l": list(range(101)),
        "o": {str(i): i for i in range(101)},
    }
    errors = {e.field: e.message for e in limits.errors(value)}
    assert errors == {
        "s": "is longer than 1024 characters",
        "k" * 40 + "…": "key is longer than 64 characters",  # the path quotes a short key
        "l": "has more than 100 members",
        "o": "has more than 100 members",
    }


def test_size_names_the_top_level_field_that_makes_the_value_too_large() -> None:
    limits = ValueLimits(max_value_bytes=4096)
    small = {"a": "x" * 1000}
    assert fields(small, limits) == []
    errors = limits.errors({"a": "x" * 1000, "metadata": {"b": ["y" * 1000] * 4}})
    assert [(e.field, e.message) for e in errors] == [
        ("metadata", "makes the value over 4096 bytes (as JSON)")
    ]
    big = {"key_hash": KEY_HASH, "metadata": {f"k{i}": "v" * 1000 for i in range(300)}}
    assert [e.field for e in refused(VirtualKey, big).errors] == ["metadata"]


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_the_counted_size_is_exactly_the_canonical_json_size(value: Any) -> None:
    size = len(canonical_json({"v": value}))
    assert ValueLimits(max_value_bytes=max(size, 4096)).errors({"v": value}) == []
    if size >= 4096:
        assert ValueLimits(max_value_bytes=size - 1).errors({"v": value})


def test_the_walk_stops_after_a_bounded_number_of_errors() -> None:
    errors = DEFAULT_LIMITS.errors({str(i): float("nan") for i in range(5000)})
    assert len(errors) == MAX_ERRORS


def test_enclosing_limits_leave_room_for_one_more_level() -> None:
    outer = DEFAULT_LIMITS.enclosing()
    inner_at_limit = {"m": nested(31)}
    assert fields(inner_at_limit) == []
    assert fields({"value": inner_at_limit}) != []
    assert fields({"value": inner_at_limit}, outer) == []


def test_validate_uses_the_limits_it_is_given() -> None:
    value = {"key_hash": KEY_HASH, "metadata": nested(20)}
    assert validate(VirtualKey, value, key="k").model_dump()["metadata"] == nested(20)
    error = refused(VirtualKey, value, limits=ValueLimits(max_depth=8))
    assert error.errors[0].field.startswith("metadata.a")
    assert complete(RouterConfig, {}, key="default", limits=ValueLimits(max_depth=8))
    assert refused(GlobalSetting, {"value": "x\x00"}).area == "global_setting"


def test_a_deep_merge_patch_does_not_exhaust_the_stack() -> None:
    result = merge_patch({"a": 1}, {"m": nested(10_000)})
    assert result["a"] == 1
    assert fields(result) != []
    assert json.dumps(merge_patch(nested(3), nested(2, None))) == json.dumps({"a": {}})


def test_field_paths_quote_names_so_that_every_error_prints() -> None:
    assert path_segment("plain.name") == "plain.name"
    assert path_segment("\ud800x\x00") == "\\ud800x\\x00"
    assert path_segment("k" * 100) == "k" * 40 + "…"
    document = {"\udc00": 1, "entries": {"glob\ud800": {"k": {"value": 1}}, "global_setting": 1}}
    with pytest.raises(InvalidValueError) as caught:
        parse_document(document)
    for error in caught.value.errors:
        str(error).encode("utf-8")
    assert [e.field for e in caught.value.errors] == ["\\udc00", "entries.global_setting"]
    parsed = parse_document({"entries": {"glob\ud800": {"\ud800": {"value": 1}}}})
    with pytest.raises(InvalidValueError) as caught:
        prepare_values(parsed, registry=builtin_registry(), codec=None, current={})
    assert [e.field for e in caught.value.errors] == ["entries.glob\\ud800.\\ud800"]
