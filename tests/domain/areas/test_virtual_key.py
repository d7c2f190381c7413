import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import VIRTUAL_KEY_PREFIX, VirtualKey, generate_virtual_key, hash_virtual_key

HASH = hashlib.sha256(b"condt_example").hexdigest()


def assert_rejected(extra: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        VirtualKey.model_validate({"key_hash": HASH, **extra})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_generate_and_hash() -> None:
    plaintext = generate_virtual_key()
    assert VIRTUAL_KEY_PREFIX == "condt_"
    assert plaintext.startswith("condt_")
    assert len(plaintext) == len("condt_") + 43
    assert generate_virtual_key() != plaintext
    digest = hash_virtual_key(plaintext)
    assert digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert VirtualKey(key_hash=digest).key_hash == digest


def test_defaults() -> None:
    value = VirtualKey.model_validate({"key_hash": HASH})
    assert value.model_dump() == {
        "key_hash": HASH,
        "description": None,
        "enabled": True,
        "max_budget": None,
        "budget_duration": "total",
        "expires_at": None,
        "allowed_models": [],
        "rate_limit_rpm": None,
        "rate_limit_rpd": None,
        "metadata": {},
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"description": "d" * 500},
        {"max_budget": 0.01},
        {"max_budget": 1_000_000},
        {"budget_duration": "total"},
        {"budget_duration": "monthly"},
        {"budget_duration": "daily"},
        {"allowed_models": ["gpt-4o", "claude-3.5"]},
        {"rate_limit_rpm": 1, "rate_limit_rpd": 1},
        {"metadata": {"team": "ml", "tags": ["a", 1, None, 2.5, True], "nested": {"x": {}}}},
        {"enabled": False},
    ],
)
def test_boundaries_accepted(extra: dict[str, Any]) -> None:
    value = VirtualKey.model_validate({"key_hash": HASH, **extra})
    assert value.model_dump(include=set(extra)) == extra


@pytest.mark.parametrize(
    "expires_at",
    [
        "2030-01-01T00:00:00Z",
        "2030-01-01T09:30:00+02:00",
        datetime(2030, 1, 1, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_aware_expiry_accepted(expires_at: object) -> None:
    value = VirtualKey.model_validate({"key_hash": HASH, "expires_at": expires_at})
    assert value.expires_at is not None
    assert value.expires_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("extra", "loc", "fragment"),
    [
        ({"key_hash": HASH.upper()}, ("key_hash",), "match pattern"),
        ({"key_hash": HASH[:-1]}, ("key_hash",), "match pattern"),
        ({"key_hash": "condt_" + "a" * 43}, ("key_hash",), "match pattern"),
        ({"description": "d" * 501}, ("description",), "at most 500 characters"),
        ({"max_budget": 0}, ("max_budget",), "greater than or equal to 0.01"),
        ({"max_budget": 0.009}, ("max_budget",), "greater than or equal to 0.01"),
        ({"max_budget": 1_000_000.01}, ("max_budget",), "less than or equal to 1000000"),
        ({"budget_duration": "weekly"}, ("budget_duration",), "Input should be"),
        ({"expires_at": "2030-01-01T00:00:00"}, ("expires_at",), "timezone info"),
        ({"expires_at": datetime(2030, 1, 1)}, ("expires_at",), "timezone info"),
        ({"allowed_models": ["a", "b", "a"]}, ("allowed_models",), "unique: 'a'"),
        ({"allowed_models": ["bad name"]}, ("allowed_models", 0), "match pattern"),
        ({"rate_limit_rpm": 0}, ("rate_limit_rpm",), "greater than or equal to 1"),
        ({"rate_limit_rpd": 0}, ("rate_limit_rpd",), "greater than or equal to 1"),
        ({"metadata": ["not", "an", "object"]}, ("metadata",), "valid dictionary"),
        ({"metadata": {"x": object()}}, ("metadata", "x"), "JSON"),
        ({"key": "condt_plaintext"}, ("key",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(extra: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    assert_rejected(extra, loc, fragment)


def test_key_hash_required() -> None:
    with pytest.raises(ValidationError) as info:
        VirtualKey.model_validate({})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("key_hash",), "missing")]


def test_round_trip() -> None:
    value = VirtualKey.model_validate(
        {
            "key_hash": HASH,
            "description": "CI key",
            "max_budget": 25.5,
            "budget_duration": "monthly",
            "expires_at": "2030-06-01T12:00:00+02:00",
            "allowed_models": ["gpt-4o"],
            "rate_limit_rpm": 60,
            "metadata": {"owner": {"team": "ml", "ids": [1, 2]}},
        }
    )
    dumped = value.model_dump(mode="json")
    orjson.dumps(dumped)
    assert VirtualKey.model_validate(dumped) == value
