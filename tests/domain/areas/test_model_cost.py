from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from domain.areas import ModelCost

MINIMAL = {"model_id_pattern": "openai/gpt-4o*"}
COSTS = [
    "input_cost_per_million_tokens",
    "output_cost_per_million_tokens",
    "cached_input_cost_per_million_tokens",
    "embedding_cost_per_million_tokens",
    "image_cost_per_image",
]


def assert_rejected(extra: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        ModelCost.model_validate({**MINIMAL, **extra})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_defaults() -> None:
    cost = ModelCost.model_validate(MINIMAL)
    assert cost.input_cost_per_million_tokens == 0.0
    assert cost.output_cost_per_million_tokens == 0.0
    assert cost.cached_input_cost_per_million_tokens is None
    assert cost.embedding_cost_per_million_tokens is None
    assert cost.image_cost_per_image is None
    assert cost.effective_date is None
    assert cost.expiry_date is None
    assert cost.priority == 0
    assert cost.description is None


@pytest.mark.parametrize("field", COSTS)
@pytest.mark.parametrize("amount", [0, 0.0, 2.5, 1e6])
def test_costs_accepted(field: str, amount: float) -> None:
    assert getattr(ModelCost.model_validate({**MINIMAL, field: amount}), field) == amount


@pytest.mark.parametrize("field", COSTS)
@pytest.mark.parametrize(
    ("amount", "fragment"), [(-0.01, "greater than or equal to 0"), (float("inf"), "finite")]
)
def test_costs_rejected(field: str, amount: float, fragment: str) -> None:
    assert_rejected({field: amount}, (field,), fragment)


@pytest.mark.parametrize(
    ("effective", "expiry"),
    [
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01", "2024-12-31"),
        ("2024-01-01T00:00:00Z", "2024-01-01"),
        ("2024-01-01", "2024-01-01T00:00:00Z"),
        ("2024-01-02", "2024-01-01T23:00:00-05:00"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"),
        ("2024-01-01", None),
        (None, "2024-01-01"),
    ],
)
def test_dates_accepted(effective: str | None, expiry: str | None) -> None:
    ModelCost.model_validate({**MINIMAL, "effective_date": effective, "expiry_date": expiry})


@pytest.mark.parametrize(
    ("effective", "expiry"),
    [
        ("2024-01-02", "2024-01-01"),
        ("2024-01-01T00:00:01Z", "2024-01-01"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01T07:59:59Z"),
    ],
)
def test_effective_after_expiry_rejected(effective: str, expiry: str) -> None:
    data = {"effective_date": effective, "expiry_date": expiry}
    assert_rejected(data, (), "effective_date must be <= expiry_date")


def test_date_and_datetime_kept_apart() -> None:
    cost = ModelCost.model_validate(
        {**MINIMAL, "effective_date": "2024-01-01", "expiry_date": "2024-06-01T00:00:00+02:00"}
    )
    assert type(cost.effective_date) is date
    assert isinstance(cost.expiry_date, datetime)
    assert cost.expiry_date.utcoffset() is not None
    python_values = ModelCost(
        model_id_pattern="x",
        effective_date=date(2024, 1, 1),
        expiry_date=datetime(2024, 2, 1, tzinfo=UTC),
    )
    assert type(python_values.effective_date) is date
    assert type(python_values.expiry_date) is datetime


@pytest.mark.parametrize(
    ("extra", "loc", "fragment"),
    [
        ({"model_id_pattern": ""}, ("model_id_pattern",), "at least 1 character"),
        ({"model_id_pattern": "m" * 201}, ("model_id_pattern",), "at most 200 characters"),
        ({"effective_date": "2024-01-01T00:00:00"}, ("effective_date",), "UTC offset"),
        ({"expiry_date": "2024-01-01 10:00"}, ("expiry_date",), "UTC offset"),
        ({"expiry_date": datetime(2024, 1, 1)}, ("expiry_date",), "UTC offset"),
        ({"effective_date": "yesterday"}, ("effective_date",), "must be a date (YYYY-MM-DD)"),
        ({"priority": -1}, ("priority",), "greater than or equal to 0"),
        ({"description": "d" * 501}, ("description",), "at most 500 characters"),
        ({"currency": "EUR"}, ("currency",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(extra: dict[str, Any], loc: tuple[str, ...], fragment: str) -> None:
    assert_rejected(extra, loc, fragment)


def test_boundaries_accepted() -> None:
    cost = ModelCost.model_validate(
        {"model_id_pattern": "m" * 200, "priority": 0, "description": "d" * 500}
    )
    assert len(cost.model_id_pattern) == 200


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"effective_date": "2024-01-01", "expiry_date": "2024-06-01T00:00:00+02:00"},
        {"input_cost_per_million_tokens": 2.5, "image_cost_per_image": 0.04, "priority": 10},
    ],
)
def test_round_trip(extra: dict[str, Any]) -> None:
    cost = ModelCost.model_validate({**MINIMAL, **extra})
    dumped = cost.model_dump(mode="json")
    orjson.dumps(dumped)
    again = ModelCost.model_validate(dumped)
    assert again == cost
    assert type(again.effective_date) is type(cost.effective_date)
