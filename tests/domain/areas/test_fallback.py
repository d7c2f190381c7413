from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import FallbackConfig, check_fallback_key


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        FallbackConfig.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_minimal_and_order_kept() -> None:
    value = FallbackConfig.model_validate({"fallbacks": ["gpt-4o-mini", "llama-3.1-8b", "a"]})
    assert value.fallbacks == ["gpt-4o-mini", "llama-3.1-8b", "a"]
    assert value.enabled
    assert FallbackConfig.area_name == "fallback"


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({}, ("fallbacks",), "Field required"),
        ({"fallbacks": []}, ("fallbacks",), "at least 1 item"),
        ({"fallbacks": ["a", "b", "a"]}, ("fallbacks",), "fallbacks must be unique: 'a'"),
        ({"fallbacks": [""]}, ("fallbacks", 0), "at least 1 character"),
        ({"fallbacks": ["ok", "has space"]}, ("fallbacks", 1), "match pattern"),
        ({"fallbacks": "gpt-4o"}, ("fallbacks",), "valid list"),
        ({"fallbacks": ["a"], "enabled": "perhaps"}, ("enabled",), "valid boolean"),
        ({"fallbacks": ["a"], "strategy": "x"}, ("strategy",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


def test_validate_key_hook_rejects_the_primary() -> None:
    value = FallbackConfig(fallbacks=["claude", "gpt-4o", "llama"])
    with pytest.raises(ValueError, match="fallbacks must not contain the primary model 'gpt-4o'"):
        FallbackConfig.validate_key("gpt-4o", value)
    with pytest.raises(ValueError, match="primary model 'llama'"):
        check_fallback_key("llama", value)


def test_validate_key_hook_accepts_other_keys() -> None:
    value = FallbackConfig(fallbacks=["claude", "gpt-4o"])
    hook = getattr(FallbackConfig, "validate_key", None)
    assert callable(hook)
    hook("gpt-4", value)
    check_fallback_key("GPT-4O", value)


def test_round_trip() -> None:
    value = FallbackConfig(fallbacks=["b", "a"], enabled=False)
    dumped = value.model_dump(mode="json")
    orjson.dumps(dumped)
    assert FallbackConfig.model_validate(dumped) == value
