from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.areas import RouterConfig

STRATEGIES = [
    "simple",
    "roundrobin",
    "leastcost",
    "leastlatency",
    "priority",
    "random",
    "leastused",
    "passthrough",
]


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        RouterConfig.model_validate(data)
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    router = RouterConfig()
    assert router.model_dump() == {
        "default_strategy": "simple",
        "max_retries": 3,
        "retry_base_delay_ms": 500,
        "retry_max_delay_ms": 10000,
        "fallbacks_enabled": False,
    }
    assert RouterConfig.area_name == "router"
    assert RouterConfig.singleton


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_accepted(strategy: str) -> None:
    assert RouterConfig.model_validate({"default_strategy": strategy}).default_strategy == strategy


@pytest.mark.parametrize("strategy", ["weighted", "Simple", "", "round-robin"])
def test_unknown_strategy_rejected_not_defaulted(strategy: str) -> None:
    assert_rejected({"default_strategy": strategy}, ("default_strategy",), "Input should be")


@pytest.mark.parametrize(
    "data",
    [
        {"max_retries": 0},
        {"max_retries": 10},
        {"retry_base_delay_ms": 0, "retry_max_delay_ms": 0},
        {"retry_base_delay_ms": 10000},
        {"fallbacks_enabled": True},
    ],
)
def test_boundaries_accepted(data: dict[str, Any]) -> None:
    router = RouterConfig.model_validate(data)
    assert router.model_dump(include=set(data)) == data


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"max_retries": -1}, ("max_retries",), "greater than or equal to 0"),
        ({"max_retries": 11}, ("max_retries",), "less than or equal to 10"),
        ({"retry_base_delay_ms": -1}, ("retry_base_delay_ms",), "greater than or equal"),
        ({"retry_max_delay_ms": -1}, ("retry_max_delay_ms",), "greater than or equal"),
        ({"retry_base_delay_ms": 10001}, (), "retry_base_delay_ms must be <= retry_max_delay_ms"),
        ({"max_retries": 1.5}, ("max_retries",), "integer"),
        ({"bogus": 1}, ("bogus",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_delay_order_property(base: int, maximum: int) -> None:
    data = {"retry_base_delay_ms": base, "retry_max_delay_ms": maximum}
    if base <= maximum:
        assert RouterConfig.model_validate(data).retry_base_delay_ms == base
    else:
        assert_rejected(data, (), "retry_base_delay_ms must be <= retry_max_delay_ms")


def test_round_trip_and_frozen() -> None:
    router = RouterConfig(default_strategy="leastcost", max_retries=5, fallbacks_enabled=True)
    dumped = router.model_dump(mode="json")
    orjson.dumps(dumped)
    assert RouterConfig.model_validate(dumped) == router
    with pytest.raises(ValidationError):
        router.max_retries = 1  # type: ignore[misc]
