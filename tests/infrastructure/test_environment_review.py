"""Edge cases of whole-environment commands: restore under a stricter schema, promote
from nowhere, positions inside a multi-entry write, reserved snapshot names."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from domain.address import Address
from domain.areas.base import AreaModel
from domain.document import parse_document
from domain.errors import InvalidValueError, NotFoundError, VersionConflictError
from infrastructure.store import ConfigStore
from tests.infrastructure.test_projections import who


class Quota(AreaModel):
    area_name: ClassVar[str] = "quota"
    limit: int = Field(default=1, le=100)


class StricterQuota(Quota):
    limit: int = Field(default=1, le=10)


def test_restore_validates_old_values_against_todays_schema(store: ConfigStore) -> None:
    store.registry.register(Quota)
    address = Address("default", "quota", "a")
    store.set(address, {"limit": 50}, provenance=who())
    store.create_snapshot("default", "before", actor="t")
    store.set(address, {"limit": 5}, provenance=who())
    store.registry.register(StricterQuota, replace=True)
    head = store.projections.head()
    with pytest.raises(InvalidValueError) as caught:
        store.restore("default", "before", provenance=who())
    assert [e.field for e in caught.value.errors] == ["entries.quota.a.limit"]
    assert store.projections.head() == head
    with pytest.raises(InvalidValueError):
        store.rollback(address, to_version=1, provenance=who())


def test_promote_needs_a_source_with_entries_and_another_target(store: ConfigStore) -> None:
    store.set(Address("prod", "feature_flag", "x"), {}, provenance=who())
    with pytest.raises(NotFoundError, match="typo"):
        store.promote("typo", "prod", provenance=who(), prune=True)
    with pytest.raises(InvalidValueError):
        store.promote("prod", "prod", provenance=who())
    assert store.export("prod").entries == {"feature_flag": {"x": {}}}


def test_a_position_inside_a_multi_entry_write_means_its_end(store: ConfigStore) -> None:
    flags = {f"f{i}": {"rollout_percent": i} for i in range(10)}
    done = store.apply_document(
        parse_document({"entries": {"feature_flag": flags}}), environment="e", provenance=who()
    )
    assert done.position == 10
    for position in (1, 5, 10):
        view = store.environment_at("e", position)
        assert view.position == 10
        assert len(view.state) == 10
    recorded = {store.get(Address("e", "feature_flag", k)).recorded_at for k in flags}
    assert len(recorded) == 1  # one instant for the whole transaction


def test_snapshot_names_now_and_duplicates(store: ConfigStore) -> None:
    store.set(Address("default", "feature_flag", "x"), {}, provenance=who())
    with pytest.raises(InvalidValueError):
        store.create_snapshot("default", "now", actor="t")
    store.create_snapshot("default", "one", actor="t")
    with pytest.raises(VersionConflictError):
        store.create_snapshot("default", "one", actor="t")
    assert [s.name for s in store.snapshots("default")] == ["one"]
