"""A loosely typed user area (``dict[str, Any]``), registered through
CONDUIT_CONFIG_AREAS in the tests: pydantic keeps ``true``, ``1`` and ``1.0`` apart."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from domain.areas.base import AreaModel


class LooseConfig(AreaModel):
    """Free-form data the package does not know."""

    area_name: ClassVar[str] = "loose"
    summary: ClassVar[str] = "Loosely typed data"

    data: dict[str, Any] = Field(default_factory=dict, description="Any JSON object.")
