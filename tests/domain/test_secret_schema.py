"""The schema-guided walk that finds a stored value's secrets without validating it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Optional, Union

import pytest
from pydantic import BaseModel, Field, SecretStr

from domain.areas import GlobalSetting, ProviderConfig
from domain.secret_schema import has_secret_fields, secret_paths_below, secret_paths_in
from domain.secret_views import parse_pointer, redact, redact_ops
from domain.secrets import REDACTED


class Inner(BaseModel):
    token: SecretStr
    note: str | None = None


class Node(BaseModel):
    name: str = ""
    secret: SecretStr | None = None
    children: list[Node] = []


class Other(BaseModel):
    kind: str = "other"
    label: str = ""


class Nested(BaseModel):
    plain: str = ""
    optional: Optional[SecretStr] = None  # noqa: UP045 - the spelling is under test
    union: Union[int, SecretStr] = 0  # noqa: UP007 - the spelling is under test
    annotated: Annotated[SecretStr, Field(min_length=1)] | None = None
    items: list[Inner] = []
    sequence: Sequence[SecretStr] = ()
    pair: tuple[str, SecretStr] | None = None
    many: tuple[SecretStr, ...] = ()
    by_name: dict[str, SecretStr] = {}
    mapping: Mapping[str, list[Inner]] = {}
    maybe_inner: Inner | None = None
    either: Inner | Other | None = None
    tree: Node | None = None
    free: dict[str, Any] = {}


Node.model_rebuild()

FULL = {
    "plain": "enc:v1:plain-text",
    "optional": "enc:v1:a",
    "union": "enc:v1:b",
    "annotated": "enc:v1:c",
    "items": [{"token": "enc:v1:d", "note": "enc:v1:not"}, {"note": "x"}],
    "sequence": ["enc:v1:e", "enc:v1:f"],
    "pair": ["enc:v1:not", "enc:v1:g"],
    "many": ["enc:v1:h"],
    "by_name": {"x": "enc:v1:i"},
    "mapping": {"m": [{"token": "enc:v1:j"}]},
    "maybe_inner": {"token": "enc:v1:k", "note": "enc:v2:kid:not"},
    "either": {"token": "enc:v1:l", "label": "enc:v1:not"},
    "tree": {"secret": "enc:v1:m", "children": [{"name": "enc:v1:not", "secret": "enc:v1:n"}]},
    "free": {"token": "enc:v1:not", "deep": ["enc:v1:not"]},
}


def test_every_kind_of_annotation_is_followed() -> None:
    assert secret_paths_in(Nested, FULL) == [
        ("optional",),
        ("union",),
        ("annotated",),
        ("items", 0, "token"),
        ("sequence", 0),
        ("sequence", 1),
        ("pair", 1),
        ("many", 0),
        ("by_name", "x"),
        ("mapping", "m", 0, "token"),
        ("maybe_inner", "token"),
        ("either", "token"),
        ("tree", "secret"),
        ("tree", "children", 0, "secret"),
    ]


def test_redact_keeps_every_non_secret_text() -> None:
    shown = redact(FULL, Nested)
    assert shown["plain"] == "enc:v1:plain-text"
    assert shown["items"] == [{"token": REDACTED, "note": "enc:v1:not"}, {"note": "x"}]
    assert shown["pair"] == ["enc:v1:not", REDACTED]
    assert shown["free"] == FULL["free"]
    assert shown["tree"]["children"][0] == {"name": "enc:v1:not", "secret": REDACTED}
    assert "'enc:v1:a'" not in repr(shown) and "'enc:v1:n'" not in repr(shown)


def test_a_secret_field_is_redacted_whatever_its_text() -> None:
    # A secret place holding plaintext (it should never be stored so) is not shown either.
    assert redact({"optional": "sk-plain", "union": 5}, Nested) == {
        "optional": REDACTED,
        "union": 5,
    }


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"items": "not a list"},
        {"items": [5, None, ["x"], {"token": 7}]},
        {"by_name": ["enc:v1:x"]},
        {"pair": ["a", 5, "enc:v1:extra"]},
        {"unknown": "enc:v1:x", "tree": {"children": {"0": {"secret": "s"}}}},
        {"sequence": "enc:v1:a string is not a sequence here"},
        {"tree": None, "maybe_inner": "enc:v1:x"},
    ],
)
def test_values_that_do_not_fit_are_walked_without_error(value: dict[str, Any]) -> None:
    assert secret_paths_in(Nested, value) == []


def test_models_without_secrets() -> None:
    assert not has_secret_fields(GlobalSetting)
    assert not has_secret_fields(Other)
    assert has_secret_fields(Node)  # refers to itself: must not recurse forever
    assert has_secret_fields(ProviderConfig)
    assert secret_paths_in(GlobalSetting, {"value": "enc:v2:xx:yy"}) == []


def test_provider_secrets() -> None:
    stored = {
        "provider_type": "openai",
        "keys": [{"name": "a", "api_key": "enc:v1:x", "organization": "enc:v1:abc"}],
    }
    assert secret_paths_in(ProviderConfig, stored) == [("keys", 0, "api_key")]


@pytest.mark.parametrize(
    ("pointer", "value", "expected"),
    [
        (("keys", "0", "api_key"), "enc:v1:x", [()]),
        (("keys", "0", "organization"), "enc:v1:x", []),
        (("keys", "0"), {"api_key": "enc:v1:x", "organization": "enc:v1:y"}, [("api_key",)]),
        (("keys", "-"), {"api_key": "enc:v1:x"}, [("api_key",)]),
        (("keys",), [{"api_key": "s"}, {"organization": "o"}], [(0, "api_key")]),
        ((), {"keys": [{"api_key": "s"}]}, [("keys", 0, "api_key")]),
        (("keys", "zero", "api_key"), "enc:v1:x", []),
        (("base_url",), "enc:v1:x", []),
        (("nothing", "here"), "enc:v1:x", []),
    ],
)
def test_secret_paths_below_a_pointer(
    pointer: tuple[str, ...], value: Any, expected: list[tuple[Any, ...]]
) -> None:
    assert secret_paths_below(ProviderConfig, pointer, value) == expected


def test_redact_ops_by_schema() -> None:
    ops = [
        {"op": "replace", "path": "/keys/0/api_key", "value": "enc:v1:x"},
        {"op": "replace", "path": "/keys/0/organization", "value": "enc:v1:abc"},
        {"op": "add", "path": "/keys/1", "value": {"name": "b", "api_key": "enc:v2:k:y"}},
        {"op": "remove", "path": "/keys/2"},
        {"op": "add", "path": "/by_name/a~1b", "value": "enc:v1:z"},
    ]
    assert redact_ops(ops, ProviderConfig) == [
        {"op": "replace", "path": "/keys/0/api_key", "value": REDACTED},
        {"op": "replace", "path": "/keys/0/organization", "value": "enc:v1:abc"},
        {"op": "add", "path": "/keys/1", "value": {"name": "b", "api_key": REDACTED}},
        {"op": "remove", "path": "/keys/2"},
        {"op": "add", "path": "/by_name/a~1b", "value": "enc:v1:z"},
    ]
    assert redact_ops(ops[-1:], Nested) == [
        {"op": "add", "path": "/by_name/a~1b", "value": REDACTED}
    ]
    # Unknown schema: anything that looks sealed.
    assert redact_ops(ops[:2], None) == [
        {"op": "replace", "path": "/keys/0/api_key", "value": REDACTED},
        {"op": "replace", "path": "/keys/0/organization", "value": REDACTED},
    ]


@pytest.mark.parametrize(
    ("pointer", "parts"),
    [("", ()), ("/", ("",)), ("/a~1b/~0c/0", ("a/b", "~c", "0")), ("a/b", None), (5, None)],
)
def test_parse_pointer(pointer: Any, parts: tuple[str, ...] | None) -> None:
    assert parse_pointer(pointer) == parts


def test_bad_op_path_is_judged_by_its_look() -> None:
    # Stored operations come from our own diffs; a malformed one cannot be placed.
    ops = [{"op": "add", "path": "keys/0/x", "value": ["enc:v1:x", "y"]}, "not an op"]
    assert redact_ops(ops, ProviderConfig) == [
        {"op": "add", "path": "keys/0/x", "value": [REDACTED, "y"]},
        "not an op",
    ]
