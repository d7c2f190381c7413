"""The ``http`` area: timeout and retry policy of outgoing HTTP calls to providers."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.areas.base import AreaModel


class HttpRetry(BaseModel):
    """Retry policy with exponential back-off between ``initial_delay_s`` and ``max_delay_s``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of a failed call.")
    initial_delay_s: float = Field(
        default=1.0, gt=0, allow_inf_nan=False, description="First back-off delay, seconds."
    )
    max_delay_s: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="Longest back-off delay, seconds."
    )

    @model_validator(mode="after")
    def _check_delays(self) -> Self:
        if self.initial_delay_s > self.max_delay_s:
            raise ValueError(
                f"initial_delay_s must be <= max_delay_s "
                f"(got {self.initial_delay_s} > {self.max_delay_s})"
            )
        return self


class HttpConfig(AreaModel):
    """HTTP client settings (singleton, key ``default``)."""

    area_name: ClassVar[str] = "http"
    singleton: ClassVar[bool] = True
    summary: ClassVar[str] = "Timeout and retry policy of HTTP calls to providers"

    retry: HttpRetry = Field(default_factory=HttpRetry, description="Retry policy.")
    timeout_seconds: int = Field(
        default=100, ge=1, le=600, description="Timeout of one HTTP call, in seconds."
    )
