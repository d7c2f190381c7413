"""Environment-variable overrides through ``connect(environ=...)`` on a real store:
precedence per field, nested fields, keyed areas, value parsing, reported sources,
refusal at start, and a store change that an override no longer fits."""

from __future__ import annotations

import logging
import os

import pytest

from domain.areas import CacheConfig, FeatureFlag, GlobalSetting, HttpConfig, RouterConfig
from domain.areas.http import HttpRetry
from domain.errors import AreaNotFoundError, NotFoundError, SettingsError
from infrastructure.client import LiveChange
from tests.infrastructure.client.conftest import ClientFor, Write
from tests.network import eventually


def test_precedence_per_field(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "router", "default", {"max_retries": 5, "default_strategy": "leastcost"})
    client = client_for(
        "prod",
        environ={"CONDUIT__ROUTER__MAX_RETRIES": "9", "CONDUIT__ROUTER__FALLBACKS_ENABLED": "true"},
    )
    expected = RouterConfig(max_retries=9, default_strategy="leastcost", fallbacks_enabled=True)
    assert client.manager(RouterConfig).current == expected
    assert client.get("router") == expected
    result = client.effective("router")
    assert result.value == expected
    assert result.sources == {
        "default_strategy": "store",
        "max_retries": "env",
        "retry_base_delay_ms": "default",
        "retry_max_delay_ms": "default",
        "fallbacks_enabled": "env",
    }
    plain = client_for("prod")  # the same store without overrides
    assert plain.get("router") == RouterConfig(max_retries=5, default_strategy="leastcost")
    assert set(plain.effective("router").sources.values()) == {"store", "default"}


def test_the_process_environment_is_the_default_and_environ_replaces_it(
    client_for: ClientFor,
) -> None:
    assert not any(name.startswith("CONDUIT__") for name in os.environ)
    before = dict(os.environ)
    client = client_for("prod", environ={"CONDUIT__ROUTER__MAX_RETRIES": "4"})
    assert client.get("router") == RouterConfig(max_retries=4)
    assert dict(os.environ) == before
    assert client_for("prod", environ=None).get("router") == RouterConfig()  # os.environ


def test_overrides_stay_on_top_of_later_store_changes(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod", environ={"CONDUIT__ROUTER__MAX_RETRIES": "9"})
    assert client.effective("router").sources["max_retries"] == "env"
    position = write(
        "set", "prod", "router", "default", {"max_retries": 1, "retry_base_delay_ms": 7}
    )
    client.wait_for(position.position)
    assert client.get("router") == RouterConfig(max_retries=9, retry_base_delay_ms=7)
    sources = client.effective("router").sources
    assert (sources["max_retries"], sources["retry_base_delay_ms"]) == ("env", "store")
    # the client's own write goes to the store as given; the override still wins locally
    written = client.set("router", "default", {"max_retries": 2})
    client.wait_for(written.position)
    assert client.get("router") == RouterConfig(max_retries=9)
    assert client.effective("router").sources["retry_base_delay_ms"] == "default"


def test_nested_fields(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "http", "default", {"retry": {"max_delay_s": 60.0}, "timeout_seconds": 20})
    client = client_for(
        "prod",
        environ={
            "CONDUIT__HTTP__RETRY__MAX_RETRIES": "7",
            "CONDUIT__HTTP__RETRY__INITIAL_DELAY_S": "0.25",
        },
    )
    expected = HttpConfig(
        retry=HttpRetry(max_retries=7, initial_delay_s=0.25, max_delay_s=60.0), timeout_seconds=20
    )
    assert client.manager(HttpConfig).current == expected
    assert client.effective("http").sources == {
        "retry": "store",
        "timeout_seconds": "store",
        "retry.initial_delay_s": "env",
        "retry.max_retries": "env",
    }


def test_a_json_object_replaces_a_nested_field(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "http", "default", {"retry": {"max_delay_s": 60.0}})
    client = client_for("prod", environ={"CONDUIT__HTTP__RETRY": '{"max_retries": 1}'})
    assert client.manager(HttpConfig).current.retry == HttpRetry(max_retries=1)
    assert client.effective("http").sources["retry"] == "env"


def test_keyed_area_key_matches_case_insensitively(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "cache", "Embeddings", {"max_entries": 50})
    write("set", "prod", "cache", "chat", {"max_entries": 60})
    client = client_for(
        "prod",
        environ={
            "CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false",
            "CONDUIT__CACHE__CHAT__EVICTION_POLICY": "lfu",
        },
    )
    caches = client.manager(CacheConfig)
    assert dict(caches.all()) == {
        "Embeddings": CacheConfig(max_entries=50, enabled=False),
        "chat": CacheConfig(max_entries=60, eviction_policy="lfu"),
    }
    assert caches.get("embeddings") is None  # keys themselves stay case-sensitive
    sources = client.effective("cache", "Embeddings").sources
    assert (sources["enabled"], sources["max_entries"], sources["cache_type"]) == (
        "env",
        "store",
        "default",
    )


def test_an_override_of_a_key_the_store_lacks_defines_the_entry(client_for: ClientFor) -> None:
    client = client_for("prod", environ={"CONDUIT__FEATURE_FLAG__BETA__ENABLED": "true"})
    assert client.get("feature_flag", "beta") == FeatureFlag(enabled=True)
    assert dict(client.manager(FeatureFlag).all()) == {"beta": FeatureFlag(enabled=True)}
    assert client.effective("feature_flag", "beta").sources["enabled"] == "env"
    assert client.effective("feature_flag", "beta").sources["rollout_percent"] == "default"


def test_an_override_defining_an_entry_the_schema_refuses_fails_at_start(
    client_for: ClientFor,
) -> None:
    # a provider needs provider_type: an override of one other field cannot define it
    with pytest.raises(SettingsError, match="CONDUIT__PROVIDER__OPENAI__ENABLED"):
        client_for("prod", environ={"CONDUIT__PROVIDER__OPENAI__ENABLED": "false"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roundrobin", "roundrobin"),  # plain text
        ('"leastcost"', "leastcost"),  # a JSON string
    ],
)
def test_string_values_plain_or_json(client_for: ClientFor, text: str, expected: str) -> None:
    client = client_for("prod", environ={"CONDUIT__ROUTER__DEFAULT_STRATEGY": text})
    assert client.manager(RouterConfig).current.default_strategy == expected


def test_json_values(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "feature_flag", "beta", {"description": "was here"})
    client = client_for(
        "prod",
        environ={
            "CONDUIT__FEATURE_FLAG__BETA__ENABLED": "true",  # a JSON boolean
            "CONDUIT__FEATURE_FLAG__BETA__ROLLOUT_PERCENT": "25",  # a JSON number
            "CONDUIT__FEATURE_FLAG__BETA__DESCRIPTION": "null",  # JSON null clears it
        },
    )
    assert client.get("feature_flag", "beta") == FeatureFlag(
        enabled=True, rollout_percent=25, description=None
    )


def test_a_numeric_looking_string_must_be_quoted(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "global_setting", "banner", {"value": "hello"})
    quoted = client_for("prod", environ={"CONDUIT__GLOBAL_SETTING__BANNER__VALUE": '"42"'})
    assert quoted.get("global_setting", "banner") == GlobalSetting(value="42")
    with pytest.raises(SettingsError, match="CONDUIT__GLOBAL_SETTING__BANNER__VALUE"):
        client_for("prod", environ={"CONDUIT__GLOBAL_SETTING__BANNER__VALUE": "42"})


@pytest.mark.parametrize(
    ("variable", "text", "fragment"),
    [
        ("CONDUIT__ROUTER__MAX_RETRIES", "99", "max_retries"),  # out of range
        ("CONDUIT__ROUTER__MAX_RETRIES", "many", "max_retries"),  # wrong type
        ("CONDUIT__ROUTER__DEFAULT_STRATEGY", "fastest", "default_strategy"),  # not allowed
        ("CONDUIT__ROUTER__NO_SUCH_FIELD", "1", "router has no field 'no_such_field'"),
        ("CONDUIT__NO_SUCH_AREA__FIELD", "1", "no area 'no_such_area'"),
        ("CONDUIT__HTTP__RETRY__NOPE", "1", "nope"),
        ("CONDUIT__CACHE__ENABLED", "false", "cache has no field"),  # the key is missing
    ],
)
def test_an_invalid_override_fails_connect_naming_the_variable(
    client_for: ClientFor, variable: str, text: str, fragment: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        client_for("prod", environ={variable: text, "CONDUIT__HTTP__TIMEOUT_SECONDS": "5"})
    assert variable in str(caught.value)
    assert fragment in str(caught.value)
    assert "CONDUIT__HTTP__TIMEOUT_SECONDS" not in str(caught.value)


def test_an_override_clashing_with_the_stored_value_fails_connect(
    client_for: ClientFor, write: Write
) -> None:
    write("set", "prod", "router", "default", {"retry_max_delay_ms": 1000})
    with pytest.raises(SettingsError, match="CONDUIT__ROUTER__RETRY_BASE_DELAY_MS") as caught:
        client_for("prod", environ={"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"})
    assert "retry_base_delay_ms must be <= retry_max_delay_ms" in str(caught.value)
    # the same override fits another environment
    staging = client_for("staging", environ={"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"})
    assert staging.get("router") == RouterConfig(retry_base_delay_ms=5000)


def test_a_store_change_the_override_no_longer_fits(
    client_for: ClientFor, write: Write, caplog: pytest.LogCaptureFixture
) -> None:
    """The client keeps serving: the stored value without the override, with a warning;
    effective() describes that value; the override comes back once it fits again."""
    client = client_for("prod", environ={"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"})
    changes: list[LiveChange] = []
    client.on_change(changes.append)
    assert client.get("router") == RouterConfig(retry_base_delay_ms=5000)
    with caplog.at_level(logging.WARNING, logger="conduit_config.live"):
        clash = write(
            "set", "prod", "router", "default", {"retry_max_delay_ms": 1000, "max_retries": 1}
        ).position
        client.wait_for(clash)
    served = RouterConfig(retry_max_delay_ms=1000, max_retries=1)
    assert client.get("router") == served
    warning = [r for r in caplog.records if r.name == "conduit_config.live"]
    assert len(warning) == 1
    assert warning[0].levelno == logging.WARNING
    assert "router/default" in warning[0].getMessage()
    assert "CONDUIT__ROUTER__RETRY_BASE_DELAY_MS" in warning[0].getMessage()
    assert "serving the stored value without overrides" in warning[0].getMessage()
    result = client.effective("router")
    assert result.value == served
    assert "env" not in result.sources.values()
    assert client.status().connected
    fits = write("set", "prod", "router", "default", {"retry_max_delay_ms": 8000}).position
    client.wait_for(fits)
    assert client.get("router") == RouterConfig(retry_base_delay_ms=5000, retry_max_delay_ms=8000)
    assert client.effective("router").sources["retry_base_delay_ms"] == "env"
    eventually(lambda: len(changes) == 2, 5, "two changes")
    assert [(c.old, c.new) for c in changes] == [
        (RouterConfig(retry_base_delay_ms=5000), served),
        (served, RouterConfig(retry_base_delay_ms=5000, retry_max_delay_ms=8000)),
    ]


def test_effective_of_absent_entries_and_unknown_areas(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "cache", "a", {})
    write("delete", "prod", "cache", "a")
    client = client_for("prod")
    assert client.get("cache", "a") is None
    with pytest.raises(NotFoundError):
        client.effective("cache", "a")  # deleted
    with pytest.raises(NotFoundError):
        client.effective("provider", "nope")  # never written
    with pytest.raises(AreaNotFoundError):
        client.effective("nope")
    assert client.effective("router").value == RouterConfig()
    assert set(client.effective("router").sources.values()) == {"default"}


def test_overrides_of_one_environment_only(client_for: ClientFor, write: Write) -> None:
    write("set", "prod", "router", "default", {"max_retries": 2})
    write("set", "staging", "router", "default", {"max_retries": 3})
    environ = {"CONDUIT__ROUTER__DEFAULT_STRATEGY": "random"}
    prod, staging = client_for("prod", environ=environ), client_for("staging", environ={})
    assert prod.get("router") == RouterConfig(max_retries=2, default_strategy="random")
    assert staging.get("router") == RouterConfig(max_retries=3)
