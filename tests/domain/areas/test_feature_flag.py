from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import FeatureFlag


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        FeatureFlag.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    assert FeatureFlag().model_dump() == {
        "enabled": False,
        "description": None,
        "rollout_percent": 100,
    }
    assert FeatureFlag.area_name == "feature_flag"


@pytest.mark.parametrize(
    "data",
    [
        {"rollout_percent": 0},
        {"rollout_percent": 100},
        {"enabled": True, "rollout_percent": 25},
        {"description": "d" * 500},
    ],
)
def test_boundaries_accepted(data: dict[str, Any]) -> None:
    assert FeatureFlag.model_validate(data).model_dump(include=set(data)) == data


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"rollout_percent": -1}, ("rollout_percent",), "greater than or equal to 0"),
        ({"rollout_percent": 101}, ("rollout_percent",), "less than or equal to 100"),
        ({"rollout_percent": 50.5}, ("rollout_percent",), "integer"),
        ({"description": "d" * 501}, ("description",), "at most 500 characters"),
        ({"enabled": "sometimes"}, ("enabled",), "valid boolean"),
        ({"variants": ["a"]}, ("variants",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


def test_round_trip() -> None:
    flag = FeatureFlag(enabled=True, description="new router", rollout_percent=10)
    dumped = flag.model_dump(mode="json")
    orjson.dumps(dumped)
    assert FeatureFlag.model_validate(dumped) == flag
