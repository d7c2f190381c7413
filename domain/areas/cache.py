"""The ``cache`` area: response cache of a region (usually key ``default``)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.areas.base import AreaModel

CacheType = Literal["memory", "redis"]
EvictionPolicy = Literal["lru", "lfu", "fifo", "random", "priority", "ttl"]

MAX_TTL_SECONDS = 86400


class CacheModelRule(BaseModel):
    """Cache behaviour for the models matching ``model_pattern``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_pattern: str = Field(
        min_length=1, max_length=200, description="Model id, or pattern with '*' wildcards."
    )
    enabled: bool = Field(default=True, description="Whether responses of these are cached.")
    ttl_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_TTL_SECONDS,
        description="TTL for these models; none uses default_ttl_seconds.",
    )


class CacheConfig(AreaModel):
    """Response cache settings of a region."""

    area_name: ClassVar[str] = "cache"
    summary: ClassVar[str] = "Response cache of a region: backend, TTLs, size and per-model rules"

    enabled: bool = Field(default=True, description="Whether responses are cached.")
    cache_type: CacheType = Field(default="memory", description="Cache backend.")
    default_ttl_seconds: int = Field(
        default=3600,
        ge=0,
        le=MAX_TTL_SECONDS,
        description="Time to live of an entry, in seconds; at most max_ttl_seconds.",
    )
    max_ttl_seconds: int = Field(
        default=MAX_TTL_SECONDS, ge=0, description="Upper bound of any TTL, in seconds."
    )
    max_entries: int = Field(default=10000, gt=0, description="Maximum number of entries.")
    eviction_policy: EvictionPolicy = Field(
        default="lru", description="Which entry goes when the cache is full."
    )
    model_rules: list[CacheModelRule] = Field(
        default_factory=list, description="Per-model overrides; model_pattern unique."
    )

    @model_validator(mode="after")
    def _check_ttls(self) -> Self:
        if self.default_ttl_seconds > self.max_ttl_seconds:
            raise ValueError(
                f"default_ttl_seconds must be <= max_ttl_seconds "
                f"(got {self.default_ttl_seconds} > {self.max_ttl_seconds})"
            )
        seen: set[str] = set()
        for index, rule in enumerate(self.model_rules):
            if rule.model_pattern in seen:
                raise ValueError(
                    f"model_rules.{index}.model_pattern: {rule.model_pattern!r} "
                    "appears more than once"
                )
            seen.add(rule.model_pattern)
            if rule.ttl_seconds is not None and rule.ttl_seconds > self.max_ttl_seconds:
                raise ValueError(
                    f"model_rules.{index}.ttl_seconds must be <= max_ttl_seconds "
                    f"(got {rule.ttl_seconds} > {self.max_ttl_seconds})"
                )
        return self
