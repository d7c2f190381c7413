"""The ``feature_flag`` area: a switch for a gateway feature, optionally partly rolled out."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from domain.areas.base import AreaModel


class FeatureFlag(AreaModel):
    """A feature switch, keyed by flag name."""

    area_name: ClassVar[str] = "feature_flag"
    summary: ClassVar[str] = "A feature switch with a rollout percentage"

    enabled: bool = Field(default=False, description="Whether the feature is on.")
    description: str | None = Field(default=None, max_length=500, description="Free text.")
    rollout_percent: int = Field(
        default=100,
        ge=0,
        le=100,
        description="Share of traffic (%) that sees the feature while it is enabled.",
    )
