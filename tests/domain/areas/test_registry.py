import json
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import Field, ValidationError

from domain.areas import (
    BUILTIN_AREAS,
    AreaModel,
    AreaRegistry,
    FallbackConfig,
    RouterConfig,
    builtin_registry,
)
from domain.areas.base import is_secret_annotation
from domain.errors import AreaNotFoundError, ConfigStoreError

NAMES = {
    "router",
    "model_deployment",
    "fallback",
    "provider",
    "model_mapping",
    "virtual_key",
    "model_cost",
    "cache",
    "ip_filter",
    "http",
    "notifications",
    "global_setting",
    "feature_flag",
}
MINIMAL: dict[str, dict[str, Any]] = {
    "router": {},
    "model_deployment": {"model_name": "gpt-4o", "provider": "openai"},
    "fallback": {"fallbacks": ["gpt-4o-mini"]},
    "provider": {"provider_type": "openai"},
    "model_mapping": {"provider": "openai", "provider_model": "gpt-4o"},
    "virtual_key": {"key_hash": "0" * 64},
    "model_cost": {"model_id_pattern": "gpt-*"},
    "cache": {},
    "ip_filter": {"filter_type": "allow", "cidr": "10.0.0.0/8"},
    "http": {},
    "notifications": {},
    "global_setting": {"value": "x"},
    "feature_flag": {},
}
BY_NAME = {model.area_name: model for model in BUILTIN_AREAS}


class TeamQuota(AreaModel):
    """A user-defined area."""

    area_name: ClassVar[str] = "team_quota"
    summary: ClassVar[str] = "Monthly quota of a team"

    monthly_usd: float = Field(default=100.0, ge=0)


def test_builtin_names() -> None:
    registry = builtin_registry()
    assert set(registry.names()) == NAMES
    assert len(BUILTIN_AREAS) == len(NAMES) == len(BY_NAME)
    assert {name for name in NAMES if BY_NAME[name].singleton} == {
        "router",
        "http",
        "notifications",
    }
    for name in NAMES:
        assert registry.get(name) is BY_NAME[name]


def test_builtin_registry_is_new_each_time() -> None:
    first = builtin_registry()
    first.register(TeamQuota)
    assert "team_quota" not in builtin_registry()


def test_duplicate_registration_rejected() -> None:
    class OtherRouter(AreaModel):
        """Clashes with the built-in router."""

        area_name: ClassVar[str] = "router"

    registry = builtin_registry()
    with pytest.raises(ConfigStoreError, match="already registered"):
        registry.register(OtherRouter)
    assert registry.get("router") is RouterConfig


def test_user_area_registered() -> None:
    registry = builtin_registry()
    registry.register(TeamQuota)
    assert registry.get("team_quota") is TeamQuota
    assert "team_quota" in registry.names()
    assert registry.get("team_quota").model_validate({}) == TeamQuota(monthly_usd=100.0)


def test_unknown_area() -> None:
    with pytest.raises(AreaNotFoundError, match="unknown area 'routers'"):
        builtin_registry().get("routers")
    assert issubclass(AreaNotFoundError, ConfigStoreError)
    assert isinstance(AreaRegistry(), AreaRegistry)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_builtin_contract(name: str) -> None:
    model = BY_NAME[name]
    assert model.summary
    assert "\n" not in model.summary
    assert model.__doc__
    assert model.schema_version == 1
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True
    schema = model.model_json_schema()
    json.dumps(schema)
    assert all("description" in prop for prop in schema["properties"].values())


@pytest.mark.parametrize("name", sorted(NAMES))
def test_minimal_value_round_trips(name: str) -> None:
    model = BY_NAME[name]
    value = model.model_validate(MINIMAL[name])
    dumped = value.model_dump(mode="json")
    orjson.dumps(dumped)
    assert model.model_validate(dumped) == value
    assert value.model_dump(exclude_unset=True, mode="json").keys() == MINIMAL[name].keys()
    with pytest.raises(ValidationError) as info:
        model.model_validate({**MINIMAL[name], "no_such_field": 1})
    assert [e["loc"] for e in info.value.errors()] == [("no_such_field",)]


@pytest.mark.parametrize("name", sorted(NAMES))
def test_frozen(name: str) -> None:
    value = BY_NAME[name].model_validate(MINIMAL[name])
    field = next(iter(BY_NAME[name].model_fields))
    with pytest.raises(ValidationError):
        setattr(value, field, getattr(value, field))


def test_validate_key_hook_only_on_fallback() -> None:
    assert [m.area_name for m in BUILTIN_AREAS if hasattr(m, "validate_key")] == ["fallback"]
    assert callable(FallbackConfig.validate_key)


def test_only_provider_api_key_is_secret() -> None:
    def secret_paths(model: type[Any], prefix: str = "") -> list[str]:
        found = []
        for field_name, info in model.model_fields.items():
            if is_secret_annotation(info.annotation):
                found.append(prefix + field_name)
            for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    found += secret_paths(arg, f"{prefix}{field_name}.")
        return found

    assert {name: secret_paths(BY_NAME[name]) for name in NAMES if secret_paths(BY_NAME[name])} == {
        "provider": ["keys.api_key"]
    }
