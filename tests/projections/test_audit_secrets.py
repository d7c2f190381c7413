"""Which fields the audit projection redacts: its area's secret fields; anything that
looks sealed when the area is not known."""

from __future__ import annotations

from domain.areas import GlobalSetting, ProviderConfig, builtin_registry
from projections.audit import registry_schemas


def test_registry_schemas() -> None:
    schema_of = registry_schemas(builtin_registry())
    assert schema_of("prod", "provider") is ProviderConfig
    assert schema_of("prod", "global_setting") is GlobalSetting
    assert schema_of("prod", "gone_area") is None
    assert schema_of("_system", "scheduled_change") is None
    assert schema_of("_system", "access_token") is None
