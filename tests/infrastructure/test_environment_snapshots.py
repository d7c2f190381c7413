"""Named snapshots (create, list, show, delete, survive a rebuild of ``checkpoints``) and
diffs of a whole environment between two points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from domain.address import Address
from domain.errors import InvalidValueError, NotFoundError, VersionConflictError
from domain.secrets import REDACTED
from infrastructure.store import ConfigStore
from tests.infrastructure.test_environment_history import _checkpoint_rows
from tests.infrastructure.test_projections import who


def test_named_snapshots(store: ConfigStore, db: psycopg.Connection[Any], schema: str) -> None:
    flag = Address("prod", "feature_flag", "a")
    store.set(flag, {"enabled": True}, provenance=who())
    store.set(Address("prod", "feature_flag", "b"), {}, provenance=who())
    first = store.create_snapshot("prod", "v1.0", actor="alice", reason="release")
    assert (first.environment, first.name, first.created_by, first.reason) == (
        "prod",
        "v1.0",
        "alice",
        "release",
    )
    assert (first.position, first.entry_count) == (store.projections.head(), 2)
    assert first.recorded_at == store.get(Address("prod", "feature_flag", "b")).recorded_at
    store.delete(flag, provenance=who())
    second = store.create_snapshot("prod", "after_delete", actor="bob")
    assert second.entry_count == 1
    store.create_snapshot("default", "v1.0", actor="alice")  # names are per environment
    assert store.snapshot("prod", "v1.0") == first
    assert [s.name for s in store.snapshots("prod")] == ["after_delete", "v1.0"]
    with pytest.raises(VersionConflictError, match="already exists"):
        store.create_snapshot("prod", "v1.0", actor="alice")
    for bad in ("", "1st", "a b", "x" * 101, "é", "-a"):
        with pytest.raises(InvalidValueError):
            store.create_snapshot("prod", bad, actor="alice")
    for call in (
        lambda: store.snapshot("prod", "nope"),
        lambda: store.delete_snapshot("prod", "nope"),
        lambda: store.export("prod", "nope"),
        lambda: store.restore("prod", "nope", provenance=who()),
        lambda: store.snapshot("staging", "v1.0"),
    ):
        with pytest.raises(NotFoundError, match=r"nope|v1\.0"):
            call()
    live = _checkpoint_rows(db, schema)
    assert store.rebuild_projection("checkpoints") == store.projections.head()
    assert _checkpoint_rows(db, schema) == live
    assert store.snapshot("prod", "v1.0") == first
    expected = {"feature_flag": {"a": {"enabled": True}, "b": {}}}
    assert store.export("prod", "v1.0").entries == expected
    store.delete_snapshot("prod", "v1.0")
    assert [s.name for s in store.snapshots("prod")] == ["after_delete"]
    with pytest.raises(NotFoundError):
        store.snapshot("prod", "v1.0")
    assert store.snapshot("default", "v1.0").environment == "default"


def test_diff_environment_between_points(store: ConfigStore) -> None:
    flags = [Address("prod", "feature_flag", name) for name in ("a", "b", "c")]
    openai = Address("prod", "provider", "openai")
    key = {"name": "main", "api_key": "sk-diff-PLAINTEXT"}
    store.set(flags[0], {"enabled": True}, provenance=who())
    store.set(flags[1], {"rollout_percent": 5}, provenance=who())
    store.set(openai, {"provider_type": "openai", "keys": [key]}, provenance=who())
    marks: list[Any] = [
        store.create_snapshot("prod", "s", actor="t").name,
        store.projections.head(),
        datetime.now(UTC),
    ]
    store.patch(flags[0], {"rollout_percent": 5}, provenance=who())
    store.delete(flags[1], provenance=who())
    store.set(flags[2], {}, provenance=who())
    new_key = {**key, "api_key": "sk-diff-ROTATED"}
    store.set(openai, {"provider_type": "openai", "keys": [new_key]}, provenance=who())
    store.set(Address("default", "feature_flag", "x"), {}, provenance=who())  # elsewhere
    for mark in marks:
        forward = store.diff_environment("prod", mark, None).changes
        assert [(c.area, c.key, c.action, c.version) for c in forward] == [
            ("feature_flag", "a", "update", 2),
            ("feature_flag", "b", "delete", 2),
            ("feature_flag", "c", "create", 1),
            ("provider", "openai", "update", 2),
        ]
        assert forward[0].changes == [{"op": "add", "path": "/rollout_percent", "value": 5}]
        assert forward[3].changes == [
            {"op": "replace", "path": "/keys/0/api_key", "value": REDACTED}
        ]
        assert all(c.value is None for c in forward)  # sealed values stay out of diffs
        backward = store.diff_environment("prod", None, mark).changes
        assert [(c.key, c.action) for c in backward] == [
            ("a", "update"),
            ("b", "create"),
            ("c", "delete"),
            ("openai", "update"),
        ]
        assert store.diff_environment("prod", mark, mark).changes == []
    assert "sk-diff" not in repr([c.to_json() for c in forward + backward])
    assert store.diff_environment("prod", None, None).changes == []
    with pytest.raises(NotFoundError):
        store.diff_environment("prod", "missing", None)
