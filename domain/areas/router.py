"""The ``router`` area: how Conduit picks a deployment and retries failed calls."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from domain.areas.base import AreaModel

RoutingStrategy = Literal[
    "simple",
    "roundrobin",
    "leastcost",
    "leastlatency",
    "priority",
    "random",
    "leastused",
    "passthrough",
]


class RouterConfig(AreaModel):
    """Routing strategy and retry policy of the gateway (singleton, key ``default``)."""

    area_name: ClassVar[str] = "router"
    singleton: ClassVar[bool] = True
    summary: ClassVar[str] = "Routing strategy, retries and fallback switch of the gateway"

    default_strategy: RoutingStrategy = Field(
        default="simple",
        description="Strategy used to pick a deployment when a model has several.",
    )
    max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed call before giving up."
    )
    retry_base_delay_ms: int = Field(
        default=500,
        ge=0,
        description="Delay before the first retry, in milliseconds; doubles on each retry.",
    )
    retry_max_delay_ms: int = Field(
        default=10000,
        ge=0,
        description="Upper bound of the delay between retries, in milliseconds.",
    )
    fallbacks_enabled: bool = Field(
        default=False,
        description="Whether the fallback area is used when all deployments of a model fail.",
    )

    @model_validator(mode="after")
    def _check_delays(self) -> Self:
        if self.retry_base_delay_ms > self.retry_max_delay_ms:
            raise ValueError(
                f"retry_base_delay_ms must be <= retry_max_delay_ms "
                f"(got {self.retry_base_delay_ms} > {self.retry_max_delay_ms})"
            )
        return self
