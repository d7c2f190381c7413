"""Built-in configuration areas and the registry that holds them."""

from __future__ import annotations

from domain.areas.base import SINGLETON_KEY, AreaModel, Name, is_secret_annotation
from domain.areas.cache import CacheConfig, CacheModelRule
from domain.areas.fallback import FallbackConfig, check_fallback_key
from domain.areas.feature_flag import FeatureFlag
from domain.areas.global_setting import GlobalSetting
from domain.areas.http import HttpConfig, HttpRetry
from domain.areas.ip_filter import IpFilterRule
from domain.areas.model_cost import ModelCost
from domain.areas.model_deployment import ModelDeployment
from domain.areas.model_mapping import ModelCapabilities, ModelMapping
from domain.areas.notifications import NotificationsConfig
from domain.areas.provider import ProviderConfig, ProviderKey
from domain.areas.registry import AreaRegistry
from domain.areas.router import RouterConfig
from domain.areas.virtual_key import (
    VIRTUAL_KEY_PREFIX,
    VirtualKey,
    generate_virtual_key,
    hash_virtual_key,
)
from domain.limits import DEFAULT_LIMITS, ValueLimits

BUILTIN_AREAS: tuple[type[AreaModel], ...] = (
    RouterConfig,
    ModelDeployment,
    FallbackConfig,
    ProviderConfig,
    ModelMapping,
    VirtualKey,
    ModelCost,
    CacheConfig,
    IpFilterRule,
    HttpConfig,
    NotificationsConfig,
    GlobalSetting,
    FeatureFlag,
)


def builtin_registry(*, limits: ValueLimits = DEFAULT_LIMITS) -> AreaRegistry:
    """A new registry holding every built-in area, its values kept within ``limits``."""
    registry = AreaRegistry(limits=limits)
    for model in BUILTIN_AREAS:
        registry.register(model)
    return registry


__all__ = [
    "BUILTIN_AREAS",
    "SINGLETON_KEY",
    "VIRTUAL_KEY_PREFIX",
    "AreaModel",
    "AreaRegistry",
    "CacheConfig",
    "CacheModelRule",
    "FallbackConfig",
    "FeatureFlag",
    "GlobalSetting",
    "HttpConfig",
    "HttpRetry",
    "IpFilterRule",
    "ModelCapabilities",
    "ModelCost",
    "ModelDeployment",
    "ModelMapping",
    "Name",
    "NotificationsConfig",
    "ProviderConfig",
    "ProviderKey",
    "RouterConfig",
    "VirtualKey",
    "builtin_registry",
    "check_fallback_key",
    "generate_virtual_key",
    "hash_virtual_key",
    "is_secret_annotation",
]
