"""Value limits and type-aware equality through the store: every write path refuses a
value beyond the limits (naming the field, appending nothing), the limits come from the
settings, and a change of JSON type (``true`` -> ``1``, ``1`` -> ``1.0``) is a change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.address import Address
from domain.document import EnvDocument
from domain.entry import Provenance
from domain.errors import InvalidValueError, SettingsError
from domain.limits import DEFAULT_LIMITS
from infrastructure.bootstrap import open_store
from infrastructure.settings import Settings, load_settings
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener

WHO = Provenance(actor="limits", correlation_id="limits")
LOOSE = Address("prod", "loose", "k")
VK = Address("prod", "virtual_key", "team-a")
KEY_HASH = "b" * 64
LOOSE_AREA = "tests.infrastructure.loose_area:LooseConfig"


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.fixture
def loose_store(make_settings: Callable[..., Settings]) -> Iterator[ConfigStore]:
    with open_store(make_settings(areas=LOOSE_AREA)) as store:
        yield store


def refused(call: Callable[[], object]) -> list[str]:
    with pytest.raises(InvalidValueError) as caught:
        call()
    return [e.field for e in caught.value.errors]


def test_a_change_of_json_type_appends_a_version_and_verifies(loose_store: ConfigStore) -> None:
    store = loose_store
    store.set(LOOSE, {"data": {"x": True, "y": [1]}}, provenance=WHO)
    assert store.set(LOOSE, {"data": {"x": 1, "y": [1]}}, provenance=WHO).changed
    assert store.patch(LOOSE, {"data": {"x": 1.0}}, provenance=WHO).changed
    assert store.patch(LOOSE, {"data": {"y": [1.0]}}, provenance=WHO).changed
    assert not store.set(LOOSE, {"data": {"x": 1.0, "y": [1.0]}}, provenance=WHO).changed
    view = store.get(LOOSE)
    assert view.version == 4
    assert repr(view.value["data"]) == repr({"x": 1.0, "y": [1.0]})
    changes = [item.changes for item in store.history(LOOSE)]
    assert [{"op": "replace", "path": "/data/x", "value": 1}] in changes
    assert [{"op": "replace", "path": "/data/x", "value": 1.0}] in changes
    assert [{"op": "replace", "path": "/data/y/0", "value": 1.0}] in changes
    assert store.verify().findings == []


def test_applying_a_document_sees_a_type_change(loose_store: ConfigStore) -> None:
    store = loose_store
    store.set(LOOSE, {"data": {"x": True}}, provenance=WHO)
    document = EnvDocument(environment="prod", entries={"loose": {"k": {"data": {"x": 1}}}})
    result = store.apply_document(document, environment="prod", provenance=WHO)
    assert [step.action for step in result.steps] == ["update"]
    assert repr(store.get(LOOSE).value["data"]) == repr({"x": 1})
    assert store.verify().findings == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"metadata": nested(250)}, "metadata.a"),
        ({"metadata": nested(10_000)}, "metadata.a"),
        ({"rate_limit_rpm": 2**64}, "rate_limit_rpm"),
        ({"metadata": {"n": 2**64}}, "metadata.n"),
        ({"metadata": {"\ud800": 1}}, "metadata.\\ud800"),
        ({"metadata": {"x": float("nan")}}, "metadata.x"),
        ({"metadata": {"blob": "x" * 300_000}}, "metadata"),
        ({"metadata": {f"k{i}": "v" * 100 for i in range(5000)}}, "metadata"),
    ],
)
def test_every_write_path_refuses_a_value_beyond_the_limits(
    store: ConfigStore, value: dict[str, Any], field: str
) -> None:
    store.set(VK, {"key_hash": KEY_HASH}, provenance=WHO)
    head = store.index.head()
    bad = {"key_hash": KEY_HASH, **value}
    due = datetime.now(UTC) + timedelta(hours=1)
    document = EnvDocument(environment="prod", entries={"virtual_key": {"team-a": bad}})
    attempts: list[Callable[[], object]] = [
        lambda: store.set(VK, bad, provenance=WHO),
        lambda: store.patch(VK, value, provenance=WHO),
        lambda: store.set(Address("prod", "virtual_key", "new"), bad, provenance=WHO),
        lambda: store.schedule_change(VK, "set", bad, due_at=due, provenance=WHO),
        lambda: store.schedule_change(VK, "patch", value, due_at=due, provenance=WHO),
    ]
    for attempt in attempts:
        assert any(f.startswith(field) for f in refused(attempt)), attempt
    named = refused(lambda: store.apply_document(document, environment="prod", provenance=WHO))
    assert any(f.startswith(f"entries.virtual_key.team-a.{field}") for f in named)
    assert store.index.head() == head
    assert store.get(VK).version == 1


def test_the_limits_come_from_the_settings(open_test_store: StoreOpener) -> None:
    with open_test_store(max_value_depth=8, max_string_chars=1024) as store:
        assert store.registry.limits.max_depth == 8
        assert store.system_registry.limits.max_depth == 9  # a scheduled change holds a value
        store.set(VK, {"key_hash": KEY_HASH, "metadata": nested(7)}, provenance=WHO)  # 8 levels
        assert refused(lambda: store.patch(VK, {"metadata": nested(8)}, provenance=WHO)) == [
            "metadata" + ".a" * 7
        ]
        assert refused(
            lambda: store.patch(
                VK, {"description": None, "metadata": {"s": "x" * 1025}}, provenance=WHO
            )
        ) == ["metadata.s"]
        # A change scheduled with a value at the deepest level allowed still fits.
        due = datetime.now(UTC) + timedelta(hours=1)
        deepest = {"key_hash": KEY_HASH, "metadata": nested(7)}
        assert store.schedule_change(VK, "set", deepest, due_at=due, provenance=WHO).change.value
    with open_test_store(max_value_depth=64) as store:
        store.patch(VK, {"metadata": nested(40)}, provenance=WHO)
        assert store.get(VK).value["metadata"] == nested(40)


def test_the_merged_result_of_a_patch_is_bounded(open_test_store: StoreOpener) -> None:
    with open_test_store(max_value_bytes=8192) as store:
        store.set(VK, {"key_hash": KEY_HASH, "metadata": {"a": "x" * 5000}}, provenance=WHO)
        assert refused(
            lambda: store.patch(VK, {"metadata": {"b": "y" * 5000}}, provenance=WHO)
        ) == ["metadata"]
        assert store.get(VK).version == 1


def test_a_secret_too_long_once_encrypted_is_refused(open_test_store: StoreOpener) -> None:
    provider = Address("prod", "provider", "openai")
    with open_test_store(max_string_chars=1024) as store:
        value = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "s" * 1000}]}
        with pytest.raises(InvalidValueError) as caught:
            store.set(provider, value, provenance=WHO)
        assert [str(e) for e in caught.value.errors] == [
            "keys.0.api_key: is longer than 1024 characters once encrypted"
        ]
        assert "sss" not in str(caught.value)
        assert store.load(provider) is None
        value["keys"][0]["api_key"] = "s" * 500
        store.set(provider, value, provenance=WHO)
        assert store.patch(provider, {"enabled": False}, provenance=WHO).changed


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("max_value_depth", 254),  # orjson's own limit: far beyond what may be set
        ("max_value_depth", 7),
        ("max_value_bytes", 100),
        ("max_string_chars", 0),
        ("max_key_chars", 10**9),
        ("max_value_members", -1),
        ("max_document_bytes", 10),
    ],
)
def test_limits_out_of_their_range_stop_the_start(name: str, bad: int) -> None:
    with pytest.raises(SettingsError, match=f"CONDUIT_CONFIG_{name.upper()}"):
        load_settings(**{name: bad})


def test_the_limits_are_settings_with_documented_defaults() -> None:
    settings = load_settings()
    assert settings.value_limits() == DEFAULT_LIMITS
    assert settings.max_document_bytes == 16 * 1024 * 1024
    for name in ("max_value_depth", "max_value_bytes", "max_string_chars", "max_key_chars"):
        assert Settings.model_fields[name].description
