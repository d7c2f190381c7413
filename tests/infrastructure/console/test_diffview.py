"""The console's diff rows: two values side by side, operation lists, environment changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.areas.provider import ProviderConfig
from domain.environment import Change, EntryState, diff_states
from domain.secret_views import parse_pointer
from domain.secrets import REDACTED
from domain.values import json_diff
from infrastructure.console.diffops import env_rows, ops_rows
from infrastructure.console.diffview import (
    ABSENT,
    DiffRow,
    changed_secret_paths,
    fold,
    side_by_side,
)


def kinds(rows: list[DiffRow]) -> dict[str, str]:
    return {row.path: row.kind for row in rows}


def texts(rows: list[DiffRow]) -> dict[str, tuple[str | None, str | None]]:
    return {row.path: (row.left, row.right) for row in rows}


def differing(rows: list[DiffRow]) -> list[DiffRow]:
    return [row for row in rows if row.kind not in ("same", "folded")]


# --- side by side ------------------------------------------------------------------


def test_nested_objects_row_per_leaf_with_kind_and_compact_text() -> None:
    left = {"a": {"b": 1, "c": {"d": "x", "e": [1, 2]}}, "gone": {"deep": True}}
    right = {"a": {"b": 2, "c": {"d": "x", "e": [1, 3]}}, "new": {"n": None}}
    rows = side_by_side(left, right, context=None)
    assert [(r.path, r.left, r.right, r.kind, r.depth) for r in rows] == [
        ("a.b", "1", "2", "changed", 2),
        ("a.c.d", '"x"', '"x"', "same", 3),
        ("a.c.e.0", "1", "1", "same", 4),
        ("a.c.e.1", "2", "3", "changed", 4),
        ("gone.deep", "true", None, "removed", 2),
        ("new.n", None, "null", "added", 2),
    ]


def test_identical_values_fold_to_one_row_or_show_every_leaf_unfolded() -> None:
    value = {"a": 1, "b": {"c": [1, 2, 3]}, "d": "x"}
    assert side_by_side(value, value) == [DiffRow("a", None, None, "folded", 1, folded=5)]
    unfolded = side_by_side(value, value, context=None)
    assert [r.kind for r in unfolded] == ["same"] * 5
    assert [r.path for r in unfolded] == ["a", "b.c.0", "b.c.1", "b.c.2", "d"]


def test_list_of_objects_growing_and_shrinking() -> None:
    one = {"keys": [{"name": "k1", "enabled": True}]}
    two = {"keys": [{"name": "k1", "enabled": True}, {"name": "k2", "enabled": False}]}
    grown = side_by_side(one, two, context=None)
    assert kinds(grown) == {
        "keys.0.name": "same",
        "keys.0.enabled": "same",
        "keys.1.name": "added",
        "keys.1.enabled": "added",
    }
    assert texts(grown)["keys.1.enabled"] == (None, "false")
    shrunk = side_by_side(two, one, context=None)
    assert kinds(shrunk)["keys.1.name"] == "removed"
    assert texts(shrunk)["keys.1.name"] == ('"k2"', None)
    emptied = side_by_side(two, {"keys": []}, context=None)
    assert [r.kind for r in emptied] == ["removed"] * 4


def test_empty_containers_are_leaves() -> None:
    assert side_by_side({"a": {}}, {"a": {}}, context=None) == [DiffRow("a", "{}", "{}", "same", 1)]
    assert texts(side_by_side({"a": []}, {"a": {}}, context=None)) == {"a": ("[]", "{}")}
    rows = side_by_side({"a": {}}, {"a": {"x": 1}}, context=None)
    assert [(r.path, r.kind) for r in rows] == [("a.x", "added")]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (True, 1),
        (1, True),
        (0, False),
        (1, 1.0),
        (0.0, -0.0),
        ("1", 1),
        (None, 0),
        (None, ""),
        (None, False),
        ([], {}),
    ],
)
def test_type_changes_are_changes(old: Any, new: Any) -> None:
    rows = side_by_side({"v": old}, {"v": new})
    assert rows == [DiffRow("v", json.dumps(old), json.dumps(new), "changed", 1)]


def test_scalar_becoming_an_object_removes_the_leaf_and_adds_the_members() -> None:
    rows = side_by_side({"v": 1}, {"v": {"a": 1, "b": [True]}}, context=None)
    assert [(r.path, r.left, r.right, r.kind) for r in rows] == [
        ("v", "1", None, "removed"),
        ("v.a", None, "1", "added"),
        ("v.b.0", None, "true", "added"),
    ]
    back = side_by_side({"v": [{"x": 1}]}, {"v": {"x": 1}}, context=None)
    assert [(r.path, r.kind) for r in back] == [("v.0.x", "removed"), ("v.x", "added")]


def test_null_is_not_absent() -> None:
    assert side_by_side({"a": None}, {}) == [DiffRow("a", "null", None, "removed", 1)]
    assert side_by_side({}, {"a": None}) == [DiffRow("a", None, "null", "added", 1)]
    assert side_by_side({"a": None}, {"a": None}, context=None) == [
        DiffRow("a", "null", "null", "same", 1)
    ]


def test_a_missing_side_and_whole_scalar_values() -> None:
    assert side_by_side(ABSENT, {"a": 1}) == [DiffRow("a", None, "1", "added", 1)]
    assert side_by_side({"a": 1}, ABSENT) == [DiffRow("a", "1", None, "removed", 1)]
    assert side_by_side(ABSENT, ABSENT) == []
    assert side_by_side(1, 2) == [DiffRow("", "1", "2", "changed", 0)]


HOSTILE_KEYS = [
    "<script>alert(1)</script>",
    "\"quoted' & <b>",
    "ключ",
    "🔑 key",
    "\u202eevil",
    "\u0000nul",
    "a.b",
    "",
    "~0/~1",
    "{{ 7*7 }}",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_odd_keys_and_values_are_carried_as_plain_text(key: str) -> None:
    value = f"</td><script>alert({key!r})</script>"
    rows = side_by_side({key: "old"}, {key: value})
    assert rows == [DiffRow(key, '"old"', json.dumps(value, ensure_ascii=False), "changed", 1)]
    assert "<script>" in (rows[0].right or "")  # escaping is the template's job


def test_lone_surrogates_become_escapes_so_the_page_can_be_encoded() -> None:
    rows = side_by_side({"k\ud800": "v\udfff"}, {})
    assert rows == [DiffRow("k\\ud800", '"v\\udfff"', None, "removed", 1)]
    for row in rows:
        row.path.encode("utf-8")
        (row.left or "").encode("utf-8")


# --- folding -------------------------------------------------------------------------


def numbered(count: int, change_at: set[int]) -> tuple[dict[str, int], dict[str, int]]:
    left = {f"m{i:05}": i for i in range(count)}
    right = {name: (-1 - i if i in change_at else i) for i, name in enumerate(left)}
    return left, right


def test_folding_keeps_context_around_each_change() -> None:
    left, right = numbered(30, {10, 20})
    rows = side_by_side(left, right, context=2)
    assert [(r.path, r.kind, r.folded) for r in rows] == [
        ("m00000", "folded", 8),
        ("m00008", "same", 0),
        ("m00009", "same", 0),
        ("m00010", "changed", 0),
        ("m00011", "same", 0),
        ("m00012", "same", 0),
        ("m00013", "folded", 5),
        ("m00018", "same", 0),
        ("m00019", "same", 0),
        ("m00020", "changed", 0),
        ("m00021", "same", 0),
        ("m00022", "same", 0),
        ("m00023", "folded", 7),
    ]
    assert sum(r.folded or 1 for r in rows) == 30


def test_a_run_hiding_fewer_than_two_rows_is_kept_whole() -> None:
    left, right = numbered(9, {0, 8})
    rows = side_by_side(left, right, context=3)
    assert [r.kind for r in rows] == ["changed", *["same"] * 7, "changed"]
    left, right = numbered(10, {0, 9})
    rows = side_by_side(left, right, context=3)
    assert [r.folded for r in rows if r.kind == "folded"] == [2]


def test_context_zero_and_none() -> None:
    left, right = numbered(10, {5})
    assert [r.kind for r in side_by_side(left, right, context=0)] == [
        "folded",
        "changed",
        "folded",
    ]
    assert len(side_by_side(left, right, context=None)) == 10
    assert fold([]) == []


# --- huge values -----------------------------------------------------------------------


def test_ten_thousand_member_list_folds_to_a_few_rows() -> None:
    left = [{"id": i, "on": True} for i in range(10_000)]
    right = [dict(item) for item in left]
    right[5_000]["on"] = 1
    right.append({"id": 10_000, "on": False})
    rows = side_by_side(left, right)
    assert len(rows) == 14  # 2 folded, 3 changes, 3 rows of context either side
    assert differing(rows) == [
        DiffRow("5000.on", "true", "1", "changed", 2),
        DiffRow("10000.id", None, "10000", "added", 2),
        DiffRow("10000.on", None, "false", "added", 2),
    ]
    assert sum(r.folded or 1 for r in rows) == 20_002


def test_ten_thousand_member_object_all_new_and_all_same() -> None:
    big = {f"k{i}": i for i in range(10_000)}
    assert len(side_by_side({}, big)) == 10_000
    assert side_by_side(big, dict(big)) == [DiffRow("k0", None, None, "folded", 1, 10_000)]


def test_deep_nesting_does_not_recurse() -> None:
    def nested(leaf: Any, depth: int = 3_000) -> Any:
        value = leaf
        for _ in range(depth):
            value = {"a": value}
        return value

    rows = side_by_side(nested(1), nested(2))
    assert len(rows) == 1
    assert (rows[0].kind, rows[0].depth, rows[0].left, rows[0].right) == (
        "changed",
        3_000,
        "1",
        "2",
    )


# --- agreement with the API's json_diff ---------------------------------------------

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["", "x", REDACTED]),
)
member_names = st.sampled_from(["a", "b", "c", "<s>", "ключ"])
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(member_names, inner, max_size=4)
    ),
    max_leaves=20,
)


def under(path: str, op_path: str) -> bool:
    return not op_path or path == op_path or path.startswith(op_path + ".")


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_rows_differ_only_inside_json_diff_operations_and_under_each(left: Any, right: Any) -> None:
    rows = differing(side_by_side(left, right, context=None))
    pointers = [parse_pointer(op["path"]) or () for op in json_diff(left, right)]
    op_paths = [".".join(str(part) for part in parts) for parts in pointers]
    assert all(any(under(row.path, p) for p in op_paths) for row in rows)
    assert all(any(under(row.path, p) for row in rows) for p in op_paths)
    assert bool(rows) == bool(op_paths)


# --- secrets -------------------------------------------------------------------------


def provider(api_key: str, *, name: str = "main") -> dict[str, Any]:
    return {"provider_type": "openai", "keys": [{"name": name, "api_key": api_key}]}


def test_a_changed_secret_is_marked_changed_with_stars_on_both_sides() -> None:
    before, after = provider(REDACTED), provider(REDACTED)
    assert differing(side_by_side(before, after)) == []
    rows = side_by_side(before, after, changed_secrets={"keys.0.api_key"})
    assert differing(rows) == [DiffRow("keys.0.api_key", REDACTED, REDACTED, "changed", 3)]


def test_secret_marking_never_shows_the_text_it_was_given() -> None:
    rows = side_by_side(
        provider("sk-old-plaintext"),
        provider("sk-new-plaintext"),
        changed_secrets={"keys.0.api_key"},
        context=None,
    )
    assert texts(rows)["keys.0.api_key"] == (REDACTED, REDACTED)
    assert "plaintext" not in repr(rows)
    added = side_by_side({"keys": []}, provider("sk-x"), changed_secrets={"keys.0.api_key"})
    assert texts(added)["keys.0.api_key"] == (None, REDACTED)
    assert kinds(added)["keys.0.api_key"] == "added"


def test_a_changed_secret_path_that_is_not_a_row_changes_nothing() -> None:
    rows = side_by_side(provider(REDACTED), provider(REDACTED), changed_secrets={"keys.9"})
    assert differing(rows) == []


def test_changed_secret_paths_compares_the_sealed_texts() -> None:
    old = provider("enc:v2:k1:AAAA")
    assert changed_secret_paths(old, provider("enc:v2:k1:AAAA"), ProviderConfig) == set()
    assert changed_secret_paths(old, provider("enc:v2:k1:BBBB"), ProviderConfig) == {
        "keys.0.api_key"
    }
    two = {**old, "keys": [*old["keys"], {"name": "b", "api_key": "enc:v2:k1:CCCC"}]}
    assert changed_secret_paths(old, two, ProviderConfig) == {"keys.1.api_key"}
    assert changed_secret_paths(two, old, ProviderConfig) == {"keys.1.api_key"}
    # Without a schema, anything that looks sealed counts as a secret.
    assert changed_secret_paths({"x": "enc:v1:a"}, {"x": "enc:v1:b"}, None) == {"x"}
    # A plain field that merely looks sealed is not a secret of the provider schema.
    odd = {**old, "base_url": "enc:v1:zz"}
    assert changed_secret_paths(old, odd, ProviderConfig) == set()


# --- operation lists -------------------------------------------------------------------


def test_ops_rows_for_each_operation() -> None:
    ops: list[Any] = [
        {"op": "add", "path": "/keys/1", "value": {"name": "b", "api_key": REDACTED}},
        {"op": "replace", "path": "/enabled", "value": False},
        {"op": "remove", "path": "/base_url"},
        {"op": "move", "from": "/a~1b", "path": "/c~0d"},
        {"op": "copy", "from": "/x", "path": "/y"},
        {"op": "test", "path": "/z", "value": 1},
        {"op": "replace", "path": "/big", "omitted": "nests more than 64 levels deep"},
        {"op": "replace", "path": "", "value": {}},
    ]
    assert [(r.path, r.left, r.right, r.kind, r.depth) for r in ops_rows(ops)] == [
        ("keys.1.name", None, '"b"', "added", 3),
        ("keys.1.api_key", None, '"********"', "added", 3),
        ("enabled", None, "false", "changed", 1),
        ("base_url", None, None, "removed", 1),
        ("a/b", None, None, "removed", 1),
        ("c~d", None, "(moved from a/b)", "added", 1),
        ("y", None, "(copied from x)", "added", 1),
        ("big", None, "(omitted: nests more than 64 levels deep)", "changed", 1),
        ("", None, "{}", "changed", 0),
    ]


def test_ops_rows_survive_malformed_operations() -> None:
    rows = ops_rows(["not an op", {"op": "frob", "path": "/a"}, {"op": "add", "path": "bad"}])
    assert [(r.path, r.right, r.kind) for r in rows] == [
        ("", '"not an op"', "changed"),
        ("a", '{"op":"frob","path":"/a"}', "changed"),
        ("bad", '{"op":"add","path":"bad"}', "changed"),
    ]
    assert ops_rows([]) == []


def test_ops_rows_carry_hostile_text_unchanged() -> None:
    ops = [{"op": "add", "path": "/<script>", "value": "</td><script>x</script>"}]
    assert ops_rows(ops) == [DiffRow("<script>", None, '"</td><script>x</script>"', "added", 1)]


# --- whole environments ----------------------------------------------------------------


def state(*entries: tuple[str, str, dict[str, Any], bool]) -> dict[tuple[str, str], EntryState]:
    return {
        (area, key): EntryState(area, key, 1, 1, stored, deleted)
        for area, key, stored, deleted in entries
    }


def test_env_rows_group_changes_by_area_with_counts() -> None:
    before = state(
        ("cache", "default", {"ttl": 10}, False),
        ("provider", "a", {"enabled": True}, False),
        ("provider", "b", {"enabled": True}, False),
    )
    after = state(
        ("cache", "default", {"ttl": 20}, False),
        ("provider", "a", {"enabled": True}, False),
        ("provider", "b", {"enabled": True}, True),
        ("provider", "c", {"keys": [{"name": "k"}]}, False),
    )
    groups = env_rows(diff_states(before, after))
    assert [(g.area, g.counts) for g in groups] == [
        ("cache", {"update": 1}),
        ("provider", {"delete": 1, "create": 1}),
    ]
    cache, providers = groups
    assert cache.entries[0].rows == [DiffRow("ttl", None, "20", "changed", 1)]
    assert [(e.key, e.action) for e in providers.entries] == [("b", "delete"), ("c", "create")]
    assert providers.entries[0].rows == [DiffRow("enabled", None, None, "removed", 1)]
    assert providers.entries[1].rows == [DiffRow("keys.0.name", None, '"k"', "added", 3)]


def test_env_rows_take_the_json_form_too() -> None:
    step = Change("provider", "a", "rollback", 4, [{"op": "remove", "path": "/x"}], None, 2)
    from_json = env_rows(
        [step.to_json(), {"area": "cache", "key": "default", "action": "unchanged"}]
    )
    assert env_rows([step]) == env_rows([step.to_json()])
    entry = from_json[0].entries[0]
    assert (entry.key, entry.action, entry.version, entry.target_version) == (
        "a",
        "rollback",
        4,
        2,
    )
    assert from_json[1].entries[0].rows == []
    assert env_rows([]) == []
    with pytest.raises(KeyError):
        env_rows([{"area": "cache", "key": "default"}])
