"""The ``model_cost`` area: prices of the models matching a pattern."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, ClassVar, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from domain.areas.base import AreaModel

# Datetime first: in smart mode a midnight datetime string would collapse to a date.
DateOrTime = Annotated[AwareDatetime | date, Field(union_mode="left_to_right")]


def _as_datetime(moment: date) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time.min, tzinfo=UTC)


class ModelCost(AreaModel):
    """Costs applied to models whose id matches ``model_id_pattern``."""

    area_name: ClassVar[str] = "model_cost"
    summary: ClassVar[str] = "Prices per million tokens of the models matching a pattern"

    model_id_pattern: str = Field(
        min_length=1,
        max_length=200,
        description="Model id, or pattern with '*' wildcards, the costs apply to.",
    )
    input_cost_per_million_tokens: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="USD per 1M input tokens."
    )
    output_cost_per_million_tokens: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="USD per 1M output tokens."
    )
    cached_input_cost_per_million_tokens: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per 1M cached input tokens."
    )
    embedding_cost_per_million_tokens: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per 1M embedding tokens."
    )
    image_cost_per_image: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="USD per generated image."
    )
    effective_date: DateOrTime | None = Field(
        default=None,
        description="Date, or datetime with UTC offset, from which the costs apply.",
    )
    expiry_date: DateOrTime | None = Field(
        default=None,
        description="Date, or datetime with UTC offset, after which the costs no longer apply.",
    )
    priority: int = Field(
        default=0, ge=0, description="Among matching patterns, the highest priority wins."
    )
    description: str | None = Field(default=None, max_length=500, description="Free text.")

    @field_validator("effective_date", "expiry_date", mode="before")
    @classmethod
    def _reject_naive(cls, value: object) -> object:
        # A naive midnight datetime would otherwise be silently truncated to a date.
        moment = value
        if isinstance(value, str) and len(value.strip()) > len("YYYY-MM-DD"):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                return value
        if isinstance(moment, datetime) and moment.tzinfo is None:
            raise ValueError("must be a date or a datetime with a UTC offset (e.g. 'Z')")
        return value

    @model_validator(mode="after")
    def _check_dates(self) -> Self:
        start, end = self.effective_date, self.expiry_date
        if start is not None and end is not None and _as_datetime(start) > _as_datetime(end):
            raise ValueError(
                f"effective_date must be <= expiry_date (got {start.isoformat()} > "
                f"{end.isoformat()})"
            )
        return self
