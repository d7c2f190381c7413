from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.areas import HttpConfig, HttpRetry


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        HttpConfig.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    assert HttpConfig().model_dump() == {
        "retry": {"max_retries": 3, "initial_delay_s": 1.0, "max_delay_s": 30.0},
        "timeout_seconds": 100,
    }
    assert HttpConfig.singleton
    assert HttpConfig.area_name == "http"


def test_partial_retry_keeps_other_defaults() -> None:
    http = HttpConfig.model_validate({"retry": {"max_retries": 5}})
    assert http.retry == HttpRetry(max_retries=5, initial_delay_s=1.0, max_delay_s=30.0)


@pytest.mark.parametrize(
    "data",
    [
        {"timeout_seconds": 1},
        {"timeout_seconds": 600},
        {"retry": {"max_retries": 0}},
        {"retry": {"max_retries": 10}},
        {"retry": {"initial_delay_s": 0.001, "max_delay_s": 0.001}},
        {"retry": {"initial_delay_s": 30.0}},
    ],
)
def test_boundaries_accepted(data: dict[str, Any]) -> None:
    dumped = HttpConfig.model_validate(data).model_dump()
    assert dumped["timeout_seconds"] == data.get("timeout_seconds", 100)
    assert dumped["retry"].items() >= data.get("retry", {}).items()


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"timeout_seconds": 0}, ("timeout_seconds",), "greater than or equal to 1"),
        ({"timeout_seconds": 601}, ("timeout_seconds",), "less than or equal to 600"),
        ({"retry": {"max_retries": -1}}, ("retry", "max_retries"), "greater than or equal"),
        ({"retry": {"max_retries": 11}}, ("retry", "max_retries"), "less than or equal to 10"),
        ({"retry": {"initial_delay_s": 0}}, ("retry", "initial_delay_s"), "greater than 0"),
        ({"retry": {"max_delay_s": 0}}, ("retry", "max_delay_s"), "greater than 0"),
        ({"retry": {"max_delay_s": float("inf")}}, ("retry", "max_delay_s"), "finite"),
        (
            {"retry": {"initial_delay_s": 31}},
            ("retry",),
            "initial_delay_s must be <= max_delay_s",
        ),
        ({"retry": {"jitter": True}}, ("retry", "jitter"), "Extra inputs are not permitted"),
        ({"retry": 3}, ("retry",), "valid dictionary or instance of HttpRetry"),
        ({"proxy": "http://p"}, ("proxy",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


@given(
    st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
    st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
)
def test_delay_order_property(initial: float, maximum: float) -> None:
    data = {"retry": {"initial_delay_s": initial, "max_delay_s": maximum}}
    if initial <= maximum:
        assert HttpConfig.model_validate(data).retry.initial_delay_s == initial
    else:
        assert_rejected(data, ("retry",), "initial_delay_s must be <= max_delay_s")


def test_round_trip() -> None:
    http = HttpConfig.model_validate(
        {"retry": {"max_retries": 1, "initial_delay_s": 0.5}, "timeout_seconds": 30}
    )
    dumped = http.model_dump(mode="json")
    orjson.dumps(dumped)
    assert HttpConfig.model_validate(dumped) == http
