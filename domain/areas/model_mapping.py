"""The ``model_mapping`` area: a model alias clients use, mapped to a provider model."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from domain.areas.base import AreaModel, Name


class ModelCapabilities(BaseModel):
    """Capability overrides; ``None`` keeps what the provider reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supports_vision: bool | None = Field(default=None, description="Image input.")
    supports_function_calling: bool | None = Field(
        default=None, description="Tool / function calls."
    )
    supports_streaming: bool | None = Field(default=None, description="Streamed responses.")
    supports_json_mode: bool | None = Field(default=None, description="JSON response format.")
    supports_embeddings: bool | None = Field(default=None, description="Embedding requests.")
    supports_audio: bool | None = Field(default=None, description="Audio input or output.")


class ModelMapping(AreaModel):
    """Maps a model alias (the entry key) to a model of a provider."""

    area_name: ClassVar[str] = "model_mapping"
    summary: ClassVar[str] = "A model alias (the key) mapped to a provider's model"

    provider: Name = Field(description="Name of the provider serving the model.")
    provider_model: str = Field(
        min_length=1, max_length=200, description="Model id as the provider knows it."
    )
    enabled: bool = Field(default=True, description="Whether the alias may be used.")
    max_context_tokens: int | None = Field(
        default=None, ge=1, description="Context window in tokens, if known."
    )
    is_default: bool = Field(
        default=False, description="Whether this is the default mapping for the provider."
    )
    capabilities: ModelCapabilities = Field(
        default_factory=ModelCapabilities,
        description="Capability overrides; unset capabilities use the provider's.",
    )
