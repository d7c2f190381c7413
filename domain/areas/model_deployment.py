"""The ``model_deployment`` area: one concrete deployment of a model at a provider."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from domain.areas.base import AreaModel


class ModelDeployment(AreaModel):
    """A deployment the router can send requests to, keyed by deployment name."""

    area_name: ClassVar[str] = "model_deployment"
    summary: ClassVar[str] = "A model served by a provider, with routing weight, limits and costs"

    model_name: str = Field(
        min_length=1, max_length=100, description="Model name as the provider knows it."
    )
    provider: str = Field(
        min_length=1, max_length=50, description="Name of the provider serving the model."
    )
    weight: int = Field(
        default=1, ge=1, description="Relative share of traffic among deployments of a model."
    )
    priority: int = Field(
        default=1, ge=1, description="Priority for the priority strategy; lower wins."
    )
    rpm: int | None = Field(
        default=None, ge=1, description="Requests per minute this deployment accepts."
    )
    tpm: int | None = Field(
        default=None, ge=1, description="Tokens per minute this deployment accepts."
    )
    input_cost_per_1k_tokens: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Cost of 1,000 input tokens, in USD.",
    )
    output_cost_per_1k_tokens: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Cost of 1,000 output tokens, in USD.",
    )
    health_check_enabled: bool = Field(
        default=True, description="Whether the deployment is probed by health checks."
    )
    enabled: bool = Field(default=True, description="Whether the router may use it.")
    supports_embeddings: bool = Field(
        default=False, description="Whether the deployment serves embedding requests."
    )
