"""A user-defined area, registered through CONDUIT_CONFIG_AREAS in the tests."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from domain.areas.base import AreaModel


class GuardrailConfig(AreaModel):
    """An area the package does not ship."""

    area_name: ClassVar[str] = "guardrail"
    summary: ClassVar[str] = "Content guardrails"

    mode: Literal["off", "warn", "block"] = Field(default="warn", description="What to do.")
    threshold: float = Field(default=0.5, ge=0, le=1, description="Score that triggers it.")
