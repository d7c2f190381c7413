from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import ModelCapabilities, ModelMapping

MINIMAL = {"provider": "openai", "provider_model": "gpt-4o-2024-08-06"}
CAPABILITIES = [
    "supports_vision",
    "supports_function_calling",
    "supports_streaming",
    "supports_json_mode",
    "supports_embeddings",
    "supports_audio",
]


def assert_rejected(extra: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        ModelMapping.model_validate({**MINIMAL, **extra})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    mapping = ModelMapping.model_validate(MINIMAL)
    assert mapping.enabled
    assert mapping.max_context_tokens is None
    assert not mapping.is_default
    assert mapping.capabilities == ModelCapabilities()
    assert mapping.capabilities.model_dump() == dict.fromkeys(CAPABILITIES)


@pytest.mark.parametrize("capability", CAPABILITIES)
@pytest.mark.parametrize("flag", [True, False])
def test_capability_override(capability: str, flag: bool) -> None:
    mapping = ModelMapping.model_validate({**MINIMAL, "capabilities": {capability: flag}})
    dumped = mapping.capabilities.model_dump()
    assert dumped == {**dict.fromkeys(CAPABILITIES), capability: flag}


@pytest.mark.parametrize(
    "extra",
    [
        {"provider_model": "m" * 200},
        {"provider_model": "accounts/fireworks/models/llama-v3p1-70b-instruct"},
        {"provider": "my-provider.eu:1"},
        {"max_context_tokens": 1},
        {"max_context_tokens": 2_000_000},
        {"enabled": False, "is_default": True},
    ],
)
def test_boundaries_accepted(extra: dict[str, Any]) -> None:
    mapping = ModelMapping.model_validate({**MINIMAL, **extra})
    assert mapping.model_dump(include=set(extra)) == extra


@pytest.mark.parametrize(
    ("extra", "loc", "fragment"),
    [
        ({"provider": ""}, ("provider",), "at least 1 character"),
        ({"provider": "open ai"}, ("provider",), "match pattern"),
        ({"provider_model": ""}, ("provider_model",), "at least 1 character"),
        ({"provider_model": "m" * 201}, ("provider_model",), "at most 200 characters"),
        ({"max_context_tokens": 0}, ("max_context_tokens",), "greater than or equal to 1"),
        (
            {"capabilities": {"supports_telepathy": True}},
            ("capabilities", "supports_telepathy"),
            "Extra inputs",
        ),
        (
            {"capabilities": {"supports_vision": "sometimes"}},
            ("capabilities", "supports_vision"),
            "valid boolean",
        ),
        ({"alias": "gpt"}, ("alias",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(extra: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(extra, loc, fragment)


@pytest.mark.parametrize("field", ["provider", "provider_model"])
def test_required(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ModelMapping.model_validate({k: v for k, v in MINIMAL.items() if k != field})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [((field,), "missing")]


def test_round_trip() -> None:
    mapping = ModelMapping.model_validate(
        {**MINIMAL, "max_context_tokens": 128000, "capabilities": {"supports_vision": True}}
    )
    dumped = mapping.model_dump(mode="json")
    orjson.dumps(dumped)
    assert ModelMapping.model_validate(dumped) == mapping
