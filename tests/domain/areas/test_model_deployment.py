from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import ModelDeployment

MINIMAL = {"model_name": "gpt-4o", "provider": "openai"}


def assert_rejected(extra: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        ModelDeployment.model_validate({**MINIMAL, **extra})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    deployment = ModelDeployment.model_validate(MINIMAL)
    assert deployment.model_dump() == {
        "model_name": "gpt-4o",
        "provider": "openai",
        "weight": 1,
        "priority": 1,
        "rpm": None,
        "tpm": None,
        "input_cost_per_1k_tokens": 0.0,
        "output_cost_per_1k_tokens": 0.0,
        "health_check_enabled": True,
        "enabled": True,
        "supports_embeddings": False,
    }
    assert not ModelDeployment.singleton


@pytest.mark.parametrize("field", ["model_name", "provider"])
def test_required(field: str) -> None:
    data = {k: v for k, v in MINIMAL.items() if k != field}
    with pytest.raises(ValidationError) as info:
        ModelDeployment.model_validate(data)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [((field,), "missing")]


@pytest.mark.parametrize(
    "extra",
    [
        {"model_name": "m" * 100},
        {"model_name": "accounts/fireworks/models/llama-v3"},
        {"provider": "p" * 50},
        {"weight": 1, "priority": 1},
        {"weight": 1000, "priority": 99},
        {"rpm": 1, "tpm": 1},
        {"input_cost_per_1k_tokens": 0, "output_cost_per_1k_tokens": 0.0},
        {"input_cost_per_1k_tokens": 0.0025, "output_cost_per_1k_tokens": 0.01},
        {"health_check_enabled": False, "enabled": False, "supports_embeddings": True},
    ],
)
def test_boundaries_accepted(extra: dict[str, Any]) -> None:
    deployment = ModelDeployment.model_validate({**MINIMAL, **extra})
    assert deployment.model_dump(include=set(extra)) == extra


@pytest.mark.parametrize(
    ("extra", "loc", "fragment"),
    [
        ({"model_name": ""}, ("model_name",), "at least 1 character"),
        ({"model_name": "m" * 101}, ("model_name",), "at most 100 characters"),
        ({"provider": ""}, ("provider",), "at least 1 character"),
        ({"provider": "p" * 51}, ("provider",), "at most 50 characters"),
        ({"weight": 0}, ("weight",), "greater than or equal to 1"),
        ({"priority": 0}, ("priority",), "greater than or equal to 1"),
        ({"rpm": 0}, ("rpm",), "greater than or equal to 1"),
        ({"tpm": 0}, ("tpm",), "greater than or equal to 1"),
        ({"input_cost_per_1k_tokens": -0.01}, ("input_cost_per_1k_tokens",), "greater than"),
        ({"output_cost_per_1k_tokens": -1}, ("output_cost_per_1k_tokens",), "greater than"),
        ({"output_cost_per_1k_tokens": float("inf")}, ("output_cost_per_1k_tokens",), "finite"),
        ({"enabled": "sometimes"}, ("enabled",), "valid boolean"),
        ({"region": "eu"}, ("region",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(extra: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(extra, loc, fragment)


def test_round_trip() -> None:
    deployment = ModelDeployment.model_validate(
        {**MINIMAL, "weight": 3, "rpm": 600, "input_cost_per_1k_tokens": 0.0025}
    )
    dumped = deployment.model_dump(mode="json")
    orjson.dumps(dumped)
    assert ModelDeployment.model_validate(dumped) == deployment
