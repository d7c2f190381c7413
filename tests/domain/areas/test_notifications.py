from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.areas import NotificationsConfig


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        NotificationsConfig.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    assert NotificationsConfig().model_dump() == {
        "budget_warning_pct": 75,
        "budget_error_pct": 90,
        "expiry_warning_days": 7,
        "expiry_error_days": 1,
        "enabled": True,
    }
    assert NotificationsConfig.singleton


@pytest.mark.parametrize(
    "data",
    [
        {"budget_warning_pct": 1},
        {"budget_error_pct": 100},
        {"budget_warning_pct": 99, "budget_error_pct": 100},
        {"budget_warning_pct": 1, "budget_error_pct": 2},
        {"expiry_warning_days": 1, "expiry_error_days": 0},
        {"expiry_warning_days": 365},
        {"enabled": False},
    ],
)
def test_boundaries_accepted(data: dict[str, Any]) -> None:
    value = NotificationsConfig.model_validate(data)
    assert value.model_dump(include=set(data)) == data


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"budget_warning_pct": 0}, ("budget_warning_pct",), "greater than or equal to 1"),
        ({"budget_warning_pct": 101}, ("budget_warning_pct",), "less than or equal to 100"),
        ({"budget_error_pct": 0}, ("budget_error_pct",), "greater than or equal to 1"),
        ({"budget_error_pct": 101}, ("budget_error_pct",), "less than or equal to 100"),
        ({"budget_warning_pct": 90}, (), "budget_warning_pct must be < budget_error_pct"),
        ({"budget_warning_pct": 95}, (), "budget_warning_pct must be < budget_error_pct"),
        ({"expiry_warning_days": -1}, ("expiry_warning_days",), "greater than or equal to 0"),
        ({"expiry_error_days": -1}, ("expiry_error_days",), "greater than or equal to 0"),
        ({"expiry_warning_days": 1}, (), "expiry_warning_days must be > expiry_error_days"),
        ({"expiry_error_days": 8}, (), "expiry_warning_days must be > expiry_error_days"),
        ({"webhook_url": "https://x"}, ("webhook_url",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


@given(st.integers(1, 100), st.integers(1, 100))
def test_budget_order_property(warning: int, error: int) -> None:
    data = {"budget_warning_pct": warning, "budget_error_pct": error}
    if warning < error:
        assert NotificationsConfig.model_validate(data).budget_error_pct == error
    else:
        assert_rejected(data, (), "budget_warning_pct must be < budget_error_pct")


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_expiry_order_property(warning: int, error: int) -> None:
    data = {"expiry_warning_days": warning, "expiry_error_days": error}
    if warning > error:
        assert NotificationsConfig.model_validate(data).expiry_warning_days == warning
    else:
        assert_rejected(data, (), "expiry_warning_days must be > expiry_error_days")


def test_round_trip() -> None:
    value = NotificationsConfig(budget_warning_pct=50, expiry_warning_days=30, enabled=False)
    dumped = value.model_dump(mode="json")
    orjson.dumps(dumped)
    assert NotificationsConfig.model_validate(dumped) == value
