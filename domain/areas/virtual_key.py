"""The ``virtual_key`` area: a client key of the gateway, stored as its SHA-256 hash only.

The plaintext ``condt_…`` key is shown once when generated and never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, JsonValue, field_validator

from domain.areas.base import AreaModel, Name

VIRTUAL_KEY_PREFIX = "condt_"

BudgetDuration = Literal["total", "monthly", "daily"]


def generate_virtual_key() -> str:
    """A new random plaintext virtual key, ``condt_`` + 43 URL-safe characters."""
    return VIRTUAL_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_virtual_key(key: str) -> str:
    """The lowercase hex SHA-256 of a plaintext key, as stored in ``key_hash``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class VirtualKey(AreaModel):
    """A virtual key with its budget, expiry, model allow-list and rate limits."""

    area_name: ClassVar[str] = "virtual_key"
    summary: ClassVar[str] = "A client key (hash only) with budget, expiry and limits"

    key_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="Lowercase hex SHA-256 of the plaintext key; the key itself is not stored.",
    )
    description: str | None = Field(default=None, max_length=500, description="Free text.")
    enabled: bool = Field(default=True, description="Whether the key is accepted.")
    max_budget: float | None = Field(
        default=None,
        ge=0.01,
        le=1_000_000,
        description="Spending limit in USD per budget_duration; none means unlimited.",
    )
    budget_duration: BudgetDuration = Field(
        default="total", description="Period after which spending resets."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Expiry time, with a UTC offset; none means never."
    )
    allowed_models: list[Name] = Field(
        default_factory=list,
        description="Models the key may use, unique; empty means all models.",
    )
    rate_limit_rpm: int | None = Field(
        default=None, ge=1, description="Requests per minute; none means unlimited."
    )
    rate_limit_rpd: int | None = Field(
        default=None, ge=1, description="Requests per day; none means unlimited."
    )
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="Free-form JSON object kept with the key."
    )

    @field_validator("allowed_models")
    @classmethod
    def _unique_models(cls, models: list[str]) -> list[str]:
        seen: set[str] = set()
        for model in models:
            if model in seen:
                raise ValueError(f"allowed_models must be unique: {model!r} is repeated")
            seen.add(model)
        return models
