"""The ``model_cost`` area: prices of the models matching a pattern."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, ClassVar, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from domain.areas.base import AreaModel

# Datetime first, so that an aware datetime (or a timestamp) is never narrowed to a date.
DateOrTime = Annotated[AwareDatetime | date, Field(union_mode="left_to_right")]


_MOMENT_FORMAT = "must be a date (YYYY-MM-DD) or a datetime with a UTC offset (e.g. 'Z')"


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
    def _parse_moment(cls, value: object) -> object:
        # Parsed here so that a bad string gets one clear error instead of one per union
        # member, and a naive midnight datetime is not silently truncated to a date.
        if isinstance(value, str):
            text = value.strip()
            try:
                value = (
                    date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
                )
            except ValueError:
                raise ValueError(_MOMENT_FORMAT) from None
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(_MOMENT_FORMAT)
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
