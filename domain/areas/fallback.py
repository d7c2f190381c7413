"""The ``fallback`` area: models tried in order when the primary model fails.

The entry key is the primary model. A value cannot see its key, so the rule "the
fallbacks do not contain the primary" is checked by the ``validate_key`` hook, which the
store calls as ``Model.validate_key(key, value)`` for areas that define it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from domain.areas.base import AreaModel, Name


class FallbackConfig(AreaModel):
    """Ordered fallback models of a primary model (the entry key)."""

    area_name: ClassVar[str] = "fallback"
    summary: ClassVar[str] = "Models tried in order when the primary model (the key) fails"

    fallbacks: list[Name] = Field(
        min_length=1,
        description="Models tried in this order; unique, without the primary model.",
    )
    enabled: bool = Field(default=True, description="Whether this fallback chain is used.")

    @field_validator("fallbacks")
    @classmethod
    def _unique(cls, fallbacks: list[str]) -> list[str]:
        seen: set[str] = set()
        for model in fallbacks:
            if model in seen:
                raise ValueError(f"fallbacks must be unique: {model!r} appears more than once")
            seen.add(model)
        return fallbacks

    @classmethod
    def validate_key(cls, key: str, value: FallbackConfig) -> None:
        """Store hook, called with the entry key and the validated value.

        Raises ``ValueError`` when the primary model (the key) is among the fallbacks.
        """
        if key in value.fallbacks:
            raise ValueError(f"fallbacks must not contain the primary model {key!r}")


def check_fallback_key(key: str, value: FallbackConfig) -> None:
    """Raise ``ValueError`` when the primary model ``key`` is among ``value.fallbacks``."""
    FallbackConfig.validate_key(key, value)
