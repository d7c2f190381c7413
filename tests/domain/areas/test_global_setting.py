from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import GlobalSetting


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        GlobalSetting.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_minimal() -> None:
    setting = GlobalSetting.model_validate({"value": "on"})
    assert setting.model_dump() == {"value": "on", "description": None}
    assert GlobalSetting.area_name == "global_setting"


@pytest.mark.parametrize(
    "data",
    [
        {"value": ""},
        {"value": "v" * 2000},
        {"value": '{"json": "as text"}', "description": "d" * 500},
    ],
)
def test_boundaries_accepted(data: dict[str, Any]) -> None:
    assert GlobalSetting.model_validate(data).model_dump(include=set(data)) == data


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({}, ("value",), "Field required"),
        ({"value": "v" * 2001}, ("value",), "at most 2000 characters"),
        ({"value": 5}, ("value",), "valid string"),
        ({"value": None}, ("value",), "valid string"),
        ({"value": "x", "description": "d" * 501}, ("description",), "at most 500 characters"),
        ({"value": "x", "type": "int"}, ("type",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


def test_round_trip() -> None:
    setting = GlobalSetting(value="ünïcödé ✓", description="text")
    dumped = setting.model_dump(mode="json")
    orjson.dumps(dumped)
    assert GlobalSetting.model_validate(dumped) == setting
