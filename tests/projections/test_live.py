"""The live view, pure: typed values of one environment kept current by log records
built here from real entry aggregates (no database)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from domain.address import Address
from domain.areas import CacheConfig, FeatureFlag, HttpConfig, RouterConfig, builtin_registry
from domain.areas.base import AreaModel
from domain.entry import ConfigEntry, Provenance
from domain.environment import EnvState
from domain.errors import AreaNotFoundError, NotFoundError, SettingsError
from infrastructure.client.overrides import parse_overrides
from projections.live import LiveView
from projections.records import LogRecord

REGISTRY = builtin_registry()
WHO = Provenance(actor="tester", correlation_id="c-1")


class Log:
    """Entry events numbered like the store's log (position 1, 2, ...)."""

    def __init__(self) -> None:
        self.position = 0
        self.entries: dict[Address, ConfigEntry] = {}

    def _record(self, entry: ConfigEntry) -> LogRecord:
        (event,) = entry.collect_events()
        assert isinstance(event, ConfigEntry.Event)
        self.position += 1
        return LogRecord(
            position=self.position,
            entry_id=entry.id,
            version=event.originator_version,
            recorded_at=datetime.now(UTC),
            environment=entry.environment,
            area=entry.area,
            key=entry.key,
            event=event,
        )

    def set(self, env: str, area: str, key: str, value: dict[str, Any]) -> LogRecord:
        address = Address(env, area, key)
        entry = self.entries.get(address)
        if entry is None:
            entry = self.entries[address] = ConfigEntry.create(address, value, WHO, 1)
        else:
            assert entry.set(value, WHO, 1)
        return self._record(entry)

    def patch(self, env: str, area: str, key: str, value: dict[str, Any]) -> LogRecord:
        entry = self.entries[Address(env, area, key)]
        assert entry.patch(value, WHO, 1)
        return self._record(entry)

    def delete(self, env: str, area: str, key: str) -> LogRecord:
        entry = self.entries[Address(env, area, key)]
        entry.delete(WHO, 1)
        return self._record(entry)

    def undelete(self, env: str, area: str, key: str) -> LogRecord:
        entry = self.entries[Address(env, area, key)]
        entry.undelete(WHO, 1)
        return self._record(entry)

    def roll_back(self, env: str, area: str, key: str, value: dict[str, Any]) -> LogRecord:
        entry = self.entries[Address(env, area, key)]
        entry.roll_back(1, value, WHO, 1)
        return self._record(entry)


def view(environ: dict[str, str] | None = None, **keys: list[str]) -> LiveView:
    overrides = parse_overrides(environ or {}, REGISTRY, keys)
    live = LiveView(environment="prod", registry=REGISTRY, overrides=overrides)
    live.load(0, {})
    return live


def test_empty_view_has_singleton_defaults_and_no_keyed_entries() -> None:
    live = view()
    assert live.position == 0
    assert live.get("router") == RouterConfig()
    assert live.get("http") == HttpConfig()
    assert dict(live.area("router")) == {"default": RouterConfig()}
    assert live.get("router", "other") is None
    assert live.get("cache", "default") is None
    assert dict(live.area("cache")) == {}
    assert dict(live.area("no_such_area")) == {}
    singletons = {m.area_name for m in REGISTRY if m.singleton}
    assert singletons == {"router", "http", "notifications"}
    assert all(live.get(name) is not None for name in singletons)


def test_apply_a_creation_gives_the_typed_value_and_a_change() -> None:
    log, live = Log(), view()
    change = live.apply(log.set("prod", "cache", "embeddings", {"max_entries": 5}))
    assert live.position == 1
    assert live.get("cache", "embeddings") == CacheConfig(max_entries=5)
    assert isinstance(live.get("cache", "embeddings"), CacheConfig)
    assert change is not None
    assert (change.position, change.area, change.key, change.version, change.event) == (
        1,
        "cache",
        "embeddings",
        1,
        "created",
    )
    assert change.old is None
    assert change.new == CacheConfig(max_entries=5)


def test_a_singletons_first_change_has_the_defaults_as_old_value() -> None:
    log, live = Log(), view()
    change = live.apply(log.set("prod", "router", "default", {"max_retries": 5}))
    assert change is not None
    assert change.old == RouterConfig()
    assert change.new == RouterConfig(max_retries=5)
    assert live.get("router") == RouterConfig(max_retries=5)


def test_every_event_kind() -> None:
    log, live = Log(), view()
    changes = [
        live.apply(log.set("prod", "feature_flag", "beta", {"enabled": True})),
        live.apply(
            log.patch("prod", "feature_flag", "beta", {"enabled": True, "rollout_percent": 5})
        ),
        live.apply(log.set("prod", "feature_flag", "beta", {"rollout_percent": 7})),
        live.apply(log.delete("prod", "feature_flag", "beta")),
        live.apply(log.undelete("prod", "feature_flag", "beta")),
        live.apply(log.roll_back("prod", "feature_flag", "beta", {"enabled": True})),
    ]
    summary = [(c.version, c.event, c.old, c.new) for c in changes if c is not None]
    on, five, seven = (
        FeatureFlag(enabled=True),
        FeatureFlag(enabled=True, rollout_percent=5),
        FeatureFlag(rollout_percent=7),
    )
    assert summary == [
        (1, "created", None, on),
        (2, "changed", on, five),
        (3, "replaced", five, seven),
        (4, "deleted", seven, None),
        (5, "restored", None, seven),
        (6, "rolled_back", seven, on),
    ]
    assert live.get("feature_flag", "beta") == on
    assert live.state["feature_flag", "beta"].version == 6


def test_a_record_at_or_before_the_position_is_ignored() -> None:
    log, live = Log(), view()
    first = log.set("prod", "cache", "a", {"max_entries": 1})
    second = log.set("prod", "cache", "a", {"max_entries": 2})
    assert live.apply(first) is not None
    assert live.apply(second) is not None
    assert live.apply(second) is None  # again: at the position
    assert live.apply(first) is None  # before it
    assert live.position == 2
    assert live.get("cache", "a") == CacheConfig(max_entries=2)
    assert live.state["cache", "a"].version == 2


def test_load_at_a_position_ignores_records_up_to_it() -> None:
    log = Log()
    early = log.set("prod", "cache", "a", {"max_entries": 1})
    state: EnvState = {}
    live = LiveView(environment="prod", registry=REGISTRY)
    live.load(0, state)
    live.apply(early)
    later = LiveView(environment="prod", registry=REGISTRY)
    later.load(1, live.state)
    assert later.apply(early) is None
    assert later.get("cache", "a") == CacheConfig(max_entries=1)
    assert later.apply(log.set("prod", "cache", "a", {"max_entries": 2})) is not None
    assert later.get("cache", "a") == CacheConfig(max_entries=2)
    assert live.get("cache", "a") == CacheConfig(max_entries=1)  # load copied the state


def test_deleted_entries_disappear_from_area() -> None:
    log, live = Log(), view()
    for key in ("a", "b"):
        live.apply(log.set("prod", "cache", key, {"max_entries": 3}))
    assert sorted(live.area("cache")) == ["a", "b"]
    live.apply(log.delete("prod", "cache", "a"))
    assert sorted(live.area("cache")) == ["b"]
    assert live.get("cache", "a") is None
    assert live.state["cache", "a"].deleted  # the state keeps it (its version counts)


def test_a_deleted_singleton_falls_back_to_defaults() -> None:
    log, live = Log(), view()
    live.apply(log.set("prod", "router", "default", {"max_retries": 5}))
    change = live.apply(log.delete("prod", "router", "default"))
    assert change is not None
    assert change.new == RouterConfig()
    assert live.get("router") == RouterConfig()


def test_other_environments_are_ignored_but_the_position_advances() -> None:
    log, live = Log(), view()
    live.apply(log.set("prod", "cache", "a", {"max_entries": 1}))
    assert live.apply(log.set("staging", "cache", "a", {"max_entries": 99})) is None
    assert live.apply(log.set("staging", "router", "default", {"max_retries": 9})) is None
    assert live.position == 3
    assert live.get("cache", "a") == CacheConfig(max_entries=1)
    assert live.get("router") == RouterConfig()
    assert set(live.state) == {("cache", "a")}


def test_advance_to_never_moves_back() -> None:
    live = view()
    live.advance_to(10)
    assert live.position == 10
    live.advance_to(4)
    assert live.position == 10
    log = Log()
    log.position = 5
    assert live.apply(log.set("prod", "cache", "a", {})) is None  # position 6 <= 10


def test_area_is_a_read_only_snapshot() -> None:
    log, live = Log(), view()
    live.apply(log.set("prod", "cache", "a", {"max_entries": 1}))
    before = live.area("cache")
    assert isinstance(before, MappingProxyType)
    with pytest.raises(TypeError):
        before["b"] = CacheConfig()  # type: ignore[index]
    live.apply(log.set("prod", "cache", "b", {"max_entries": 2}))
    assert sorted(before) == ["a"]
    assert sorted(live.area("cache")) == ["a", "b"]


def test_a_record_of_an_unknown_area_has_no_typed_value() -> None:
    log, live = Log(), view()
    record = log.set("prod", "custom_area", "x", {"anything": 1})
    change = live.apply(record)
    assert live.position == 1
    assert live.get("custom_area", "x") is None
    assert dict(live.area("custom_area")) == {}
    assert change is not None
    assert (change.old, change.new) == (None, None)
    with pytest.raises(AreaNotFoundError):
        live.effective("custom_area", "x")


def test_a_stored_value_the_schema_refuses_is_not_served(caplog: pytest.LogCaptureFixture) -> None:
    log, live = Log(), view()
    live.apply(log.set("prod", "cache", "a", {"max_entries": 1}))
    with caplog.at_level(logging.WARNING, logger="conduit_config.live"):
        live.apply(log.set("prod", "cache", "a", {"max_entries": 0}))  # gt=0
    assert live.get("cache", "a") is None
    assert "cache/a" in caplog.text
    assert "max_entries" in caplog.text


def test_reveal_is_applied_to_stored_values() -> None:
    seen: list[dict[str, Any]] = []

    def reveal(model: type[AreaModel], value: dict[str, Any]) -> dict[str, Any]:
        assert model is CacheConfig
        seen.append(value)
        return {**value, "max_entries": value["max_entries"] * 10}

    live = LiveView(environment="prod", registry=REGISTRY, reveal=reveal)
    live.load(0, {})
    log = Log()
    live.apply(log.set("prod", "cache", "a", {"max_entries": 2}))
    assert live.get("cache", "a") == CacheConfig(max_entries=20)
    assert {"max_entries": 2} in seen
    assert live.state["cache", "a"].stored == {"max_entries": 2}  # state keeps the stored form


# -- overrides ----------------------------------------------------------------------------


def test_overrides_apply_on_load_and_on_later_records() -> None:
    log = Log()
    environ = {"CONDUIT__ROUTER__MAX_RETRIES": "7", "CONDUIT__CACHE__A__ENABLED": "false"}
    live = view(environ, cache=["a"])
    assert live.get("router") == RouterConfig(max_retries=7)
    change = live.apply(
        log.set("prod", "router", "default", {"max_retries": 1, "fallbacks_enabled": True})
    )
    assert live.get("router") == RouterConfig(max_retries=7, fallbacks_enabled=True)
    assert change is not None
    assert change.old == RouterConfig(max_retries=7)
    assert change.new == RouterConfig(max_retries=7, fallbacks_enabled=True)
    live.apply(log.set("prod", "cache", "a", {"max_entries": 4}))
    assert live.get("cache", "a") == CacheConfig(enabled=False, max_entries=4)
    result = live.effective("cache", "a")
    assert result.sources["enabled"] == "env"
    assert result.sources["max_entries"] == "store"
    assert result.sources["cache_type"] == "default"


def test_an_invalid_override_fails_load_naming_the_variable() -> None:
    log = Log()
    state: EnvState = {}
    live = LiveView(environment="prod", registry=REGISTRY)
    live.load(0, state)
    live.apply(log.set("prod", "router", "default", {"retry_max_delay_ms": 1000}))
    overrides = parse_overrides({"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"}, REGISTRY, {})
    strict = LiveView(environment="prod", registry=REGISTRY, overrides=overrides)
    with pytest.raises(SettingsError, match="CONDUIT__ROUTER__RETRY_BASE_DELAY_MS"):
        strict.load(live.position, live.state)


def test_a_later_record_making_an_override_invalid_serves_the_store_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = Log()
    live = view({"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"})
    assert live.get("router") == RouterConfig(retry_base_delay_ms=5000)
    with caplog.at_level(logging.WARNING, logger="conduit_config.live"):
        change = live.apply(
            log.set(
                "prod",
                "router",
                "default",
                {"retry_base_delay_ms": 100, "retry_max_delay_ms": 1000},
            )
        )
    served = RouterConfig(retry_base_delay_ms=100, retry_max_delay_ms=1000)
    assert live.get("router") == served
    assert change is not None
    assert change.new == served
    assert "CONDUIT__ROUTER__RETRY_BASE_DELAY_MS" in caplog.text
    assert "serving the stored value without overrides" in caplog.text
    # effective() describes what is served: no field from the environment
    result = live.effective("router")
    assert result.value == served
    assert "env" not in result.sources.values()
    assert result.sources["retry_max_delay_ms"] == "store"
    # a later record that makes the override fit again brings it back
    live.apply(log.set("prod", "router", "default", {"retry_max_delay_ms": 9000}))
    assert live.get("router") == RouterConfig(retry_base_delay_ms=5000, retry_max_delay_ms=9000)
    assert live.effective("router").sources["retry_base_delay_ms"] == "env"


def test_an_override_of_an_absent_keyed_entry_makes_it_present() -> None:
    log = Log()
    live = view({"CONDUIT__CACHE__EMBEDDINGS__MAX_ENTRIES": "5"})
    assert dict(live.area("cache")) == {"embeddings": CacheConfig(max_entries=5)}
    # a store deletion does not remove what the environment still defines
    live.apply(log.set("prod", "cache", "embeddings", {"enabled": False}))
    assert live.get("cache", "embeddings") == CacheConfig(enabled=False, max_entries=5)
    live.apply(log.delete("prod", "cache", "embeddings"))
    assert live.get("cache", "embeddings") == CacheConfig(max_entries=5)


def test_effective_of_an_absent_keyed_entry_is_not_found() -> None:
    live = view()
    assert live.get("cache", "nope") is None
    with pytest.raises(NotFoundError):
        live.effective("cache", "nope")
    with pytest.raises(NotFoundError):
        live.effective("provider", "nope")  # no defaults for a required field either
    assert live.effective("router").value == RouterConfig()  # singletons always exist


def test_an_invalid_stored_value_does_not_fail_load_through_an_unrelated_override(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = Log()
    source = view()
    source.apply(log.set("prod", "cache", "a", {"max_entries": 0}))  # refused by the schema
    source.apply(log.set("prod", "cache", "b", {"max_entries": 2}))
    overrides = parse_overrides({"CONDUIT__CACHE__A__ENABLED": "false"}, REGISTRY, {"cache": ["a"]})
    live = LiveView(environment="prod", registry=REGISTRY, overrides=overrides)
    with caplog.at_level(logging.WARNING, logger="conduit_config.live"):
        live.load(source.position, source.state)  # not a SettingsError: the store is at fault
    assert live.get("cache", "a") is None
    assert live.get("cache", "b") == CacheConfig(max_entries=2)
    assert "cache/a" in caplog.text
    assert "max_entries" in caplog.text
