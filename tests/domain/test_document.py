"""Environment documents: shape checks, and validation/sealing of every entry at once."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.areas import builtin_registry
from domain.document import EnvDocument, parse_document, prepare_values
from domain.environment import EntryState, EnvState
from domain.errors import InvalidValueError, SecretKeyError
from domain.secrets import REDACTED, SECRET_PREFIX
from tests.domain.test_secrets import FakeCodec, enc

REGISTRY = builtin_registry()


def sealed_elsewhere(plaintext: str) -> str:
    """A well-formed ``enc:v1:`` value that :class:`FakeCodec` cannot open (as a store with
    another key cannot open this one's)."""
    return SECRET_PREFIX + base64.urlsafe_b64encode(b"\xff" + plaintext.encode()).decode()


def fields(exc: pytest.ExceptionInfo[InvalidValueError]) -> list[str]:
    return [e.field for e in exc.value.errors]


def provider(*keys: tuple[str, str]) -> dict[str, Any]:
    return {
        "provider_type": "openai",
        "keys": [{"name": name, "api_key": api_key} for name, api_key in keys],
    }


def current_with(area: str, key: str, stored: dict[str, Any]) -> EnvState:
    return {(area, key): EntryState(area, key, 1, 1, stored, False)}


def prepare(
    entries: dict[str, dict[str, Any]],
    *,
    codec: FakeCodec | None = None,
    current: EnvState | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    document = EnvDocument(environment=None, entries=entries)
    return prepare_values(
        document, registry=REGISTRY, codec=codec or FakeCodec(), current=current or {}
    )


def test_parse_a_valid_document() -> None:
    data = {
        "environment": "prod",
        "position": 12,
        "recorded_at": "2024-01-01T00:00:00+00:00",
        "entries": {"router": {"default": {"max_retries": 2}}, "feature_flag": {}},
    }
    document = parse_document(data)
    assert document.environment == "prod"
    assert document.entries == {"router": {"default": {"max_retries": 2}}}
    assert (document.position, document.recorded_at) == (None, None)
    assert parse_document({"entries": {}}) == EnvDocument(environment=None, entries={})


def test_to_json_parses_back() -> None:
    document = EnvDocument(
        environment="prod",
        entries={"feature_flag": {"f": {"enabled": True}}},
        position=7,
        recorded_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    data = document.to_json()
    assert data == {
        "environment": "prod",
        "position": 7,
        "recorded_at": "2024-05-01T12:00:00+00:00",
        "entries": {"feature_flag": {"f": {"enabled": True}}},
    }
    again = parse_document(data)
    assert (again.environment, again.entries) == (document.environment, document.entries)


@pytest.mark.parametrize("data", [None, [], "entries", 3])
def test_a_document_must_be_an_object(data: Any) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_document(data)
    assert fields(caught) == ["document"]


def test_unknown_top_level_fields_are_listed() -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_document({"entries": {}, "values": {}, "Version": 2})
    assert fields(caught) == ["Version", "values"]
    assert "unknown field" in str(caught.value)


@pytest.mark.parametrize("entries", [None, [], "x", [["router", {}]]])
def test_entries_must_be_an_object(entries: Any) -> None:
    data = {"entries": entries} if entries is not None else {}
    with pytest.raises(InvalidValueError) as caught:
        parse_document(data)
    assert fields(caught) == ["entries"]


def test_every_shape_error_is_listed_at_once() -> None:
    data = {
        "environment": 5,
        "extra": 1,
        "entries": {
            "router": ["default"],
            "feature_flag": {"ok": {}, "bad": [1], "worse": "on"},
        },
    }
    with pytest.raises(InvalidValueError) as caught:
        parse_document(data)
    assert fields(caught) == [
        "extra",
        "environment",
        "entries.router",
        "entries.feature_flag.bad",
        "entries.feature_flag.worse",
    ]


def test_prepare_validates_and_keeps_values_sparse() -> None:
    wanted = prepare(
        {
            "router": {"default": {"max_retries": 5, "default_strategy": "leastcost"}},
            "feature_flag": {"a": {}, "b": {"rollout_percent": 10}},
        }
    )
    assert wanted == {
        ("router", "default"): {"max_retries": 5, "default_strategy": "leastcost"},
        ("feature_flag", "a"): {},
        ("feature_flag", "b"): {"rollout_percent": 10},
    }


def test_unknown_area_is_named_with_its_entry() -> None:
    with pytest.raises(InvalidValueError) as caught:
        prepare({"nope": {"x": {}}, "feature_flag": {"a": {}}})
    assert fields(caught) == ["entries.nope.x"]
    assert "unknown area 'nope'" in str(caught.value)


def test_singleton_area_needs_the_default_key() -> None:
    with pytest.raises(InvalidValueError) as caught:
        prepare({"router": {"main": {"max_retries": 1}}, "http": {"default": {}}})
    assert fields(caught) == ["entries.router.main"]
    assert "singleton" in str(caught.value)


def test_bad_key_name_is_named_with_its_entry() -> None:
    with pytest.raises(InvalidValueError) as caught:
        prepare({"feature_flag": {"has space": {}, "-dash": {}, "fine": {}}})
    assert fields(caught) == ["entries.feature_flag.has space", "entries.feature_flag.-dash"]


def test_every_invalid_field_of_every_entry_is_listed() -> None:
    with pytest.raises(InvalidValueError) as caught:
        prepare(
            {
                "router": {"default": {"max_retries": 99, "default_strategy": "fastest"}},
                "feature_flag": {
                    "ok": {"enabled": True},
                    "f1": {"rollout_percent": 101, "bogus": 1},
                },
                "fallback": {"gpt-4": {"fallbacks": ["gpt-4"]}},
                "nope": {"k": {}},
            }
        )
    assert sorted(fields(caught)) == [
        "entries.fallback.gpt-4.key",
        "entries.feature_flag.f1.bogus",
        "entries.feature_flag.f1.rollout_percent",
        "entries.nope.k",
        "entries.router.default.default_strategy",
        "entries.router.default.max_retries",
    ]
    messages = {e.field: e.message for e in caught.value.errors}
    assert "primary model" in messages["entries.fallback.gpt-4.key"]
    assert "fastest" not in str(caught.value)  # input values are never echoed


def test_secrets_are_sealed() -> None:
    codec = FakeCodec()
    wanted = prepare({"provider": {"openai": provider(("a", "sk-a"))}}, codec=codec)
    assert wanted["provider", "openai"]["keys"][0]["api_key"] == enc("sk-a")
    assert codec.sealed == ["sk-a"]
    assert "sk-a" not in repr(wanted).replace(enc("sk-a"), "")


def test_plaintext_secret_without_a_codec_is_a_key_error() -> None:
    document = EnvDocument(None, {"provider": {"openai": provider(("a", "sk-a"))}})
    with pytest.raises(SecretKeyError):
        prepare_values(document, registry=REGISTRY, codec=None, current={})


def test_redacted_placeholder_keeps_the_current_secret() -> None:
    stored = provider(("a", enc("old-a")), ("b", enc("old-b")))
    current = current_with("provider", "openai", stored)
    codec = FakeCodec()
    wanted = prepare(
        {"provider": {"openai": provider(("b", REDACTED), ("a", REDACTED))}},
        codec=codec,
        current=current,
    )
    keys = wanted["provider", "openai"]["keys"]
    assert [(k["name"], k["api_key"]) for k in keys] == [("b", enc("old-b")), ("a", enc("old-a"))]
    assert codec.sealed == []


def test_redacted_placeholder_with_nothing_stored_is_an_error() -> None:
    other_entry = current_with("provider", "groq", provider(("a", enc("old-a"))))
    with pytest.raises(InvalidValueError) as caught:
        prepare(
            {"provider": {"openai": provider(("a", REDACTED)), "groq": provider(("a", "new"))}},
            current=other_entry,
        )
    assert fields(caught) == ["entries.provider.openai.keys.0.api_key"]
    assert "redaction placeholder" in str(caught.value)


def test_sealed_secret_from_another_key_is_an_error_naming_the_field() -> None:
    foreign = sealed_elsewhere("sk-x")
    with pytest.raises(SecretKeyError):
        FakeCodec().open(foreign)
    with pytest.raises(InvalidValueError) as caught:
        prepare(
            {
                "provider": {"openai": provider(("a", foreign)), "groq": provider(("a", "ok"))},
                "feature_flag": {"f": {"rollout_percent": -1}},
            }
        )
    assert fields(caught) == [
        "entries.provider.openai.keys.0.api_key",
        "entries.feature_flag.f.rollout_percent",
    ]
    assert "sealed with a key this store does not have" in str(caught.value)
    assert foreign not in str(caught.value)


def test_sealed_secret_of_this_store_is_kept_as_is() -> None:
    sealed = enc("sk-a")
    codec = FakeCodec()
    wanted = prepare({"provider": {"openai": provider(("a", sealed))}}, codec=codec)
    assert wanted["provider", "openai"]["keys"][0]["api_key"] == sealed
    assert codec.opened == [sealed]
    assert codec.sealed == []
