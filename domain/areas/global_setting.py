"""The ``global_setting`` area: a named free-form setting of the gateway."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from domain.areas.base import AreaModel


class GlobalSetting(AreaModel):
    """A string setting, keyed by setting name."""

    area_name: ClassVar[str] = "global_setting"
    summary: ClassVar[str] = "A named string setting of the gateway"

    value: str = Field(max_length=2000, description="The setting's value.")
    description: str | None = Field(default=None, max_length=500, description="Free text.")
