"""Environment-variable overrides, pure: parsing ``CONDUIT__...`` variables and the
precedence env > store > default with the source of each field."""

from __future__ import annotations

from typing import Any

import pytest

from domain.areas import (
    CacheConfig,
    GlobalSetting,
    HttpConfig,
    ProviderConfig,
    RouterConfig,
    builtin_registry,
)
from domain.areas.base import SINGLETON_KEY
from domain.effective import Override, effective
from domain.errors import InvalidValueError, SettingsError
from infrastructure.client.overrides import parse_overrides

REGISTRY = builtin_registry()


def parse(environ: dict[str, str], **keys: list[str]) -> list[Override]:
    return parse_overrides(environ, REGISTRY, keys)


def one(environ: dict[str, str], **keys: list[str]) -> Override:
    (override,) = parse(environ, **keys)
    return override


# -- parse_overrides --------------------------------------------------------------------


def test_only_conduit_double_underscore_variables_count() -> None:
    environ = {
        "PATH": "/bin",
        "CONDUIT_CONFIG_DATABASE_URL": "postgresql://x",  # settings, not an override
        "CONDUIT_ROUTER__MAX_RETRIES": "1",  # single underscore after CONDUIT
        "conduit__router__max_retries": "1",  # the prefix is case-sensitive
    }
    assert parse(environ) == []


def test_singleton_field() -> None:
    assert one({"CONDUIT__ROUTER__MAX_RETRIES": "5"}) == Override(
        "CONDUIT__ROUTER__MAX_RETRIES", "router", SINGLETON_KEY, ("max_retries",), 5
    )


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_text_not_numbers(text: str) -> None:
    override = one({"CONDUIT__GLOBAL_SETTING__GREETING__VALUE": text}, global_setting=["greeting"])
    assert override.value == text


def test_area_and_field_names_are_case_insensitive() -> None:
    override = one({"CONDUIT__Router__Max_Retries": "5"})
    assert (override.area, override.key, override.path) == ("router", "default", ("max_retries",))


def test_nested_field_path() -> None:
    override = one({"CONDUIT__HTTP__RETRY__MAX_RETRIES": "7"})
    assert (override.area, override.key, override.path, override.value) == (
        "http",
        SINGLETON_KEY,
        ("retry", "max_retries"),
        7,
    )


def test_keyed_area_matches_a_stored_key_case_insensitively() -> None:
    environ = {"CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false"}
    override = one(environ, cache=["default", "Embeddings"])
    assert (override.area, override.key, override.path, override.value) == (
        "cache",
        "Embeddings",
        ("enabled",),
        False,
    )


def test_keyed_area_without_a_stored_key_uses_the_lowercased_name() -> None:
    override = one({"CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false"}, cache=["default"])
    assert override.key == "embeddings"
    # keys of another area do not match
    override = one({"CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false"}, feature_flag=["Embeddings"])
    assert override.key == "embeddings"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("2.5", 2.5),
        ("false", False),
        ("true", True),
        ("null", None),
        ("roundrobin", "roundrobin"),  # not JSON: the plain string
        ('"123"', "123"),  # a JSON string: how to pass a numeric-looking string
        ("123abc", "123abc"),
        ('{"max_retries": 1}', {"max_retries": 1}),
        ("[1, 2]", [1, 2]),
        ("", ""),  # not JSON either
    ],
)
def test_values_are_json_else_strings(text: str, value: Any) -> None:
    assert one({"CONDUIT__ROUTER__DEFAULT_STRATEGY": text}).value == value


def test_sorted_by_variable_name() -> None:
    environ = {
        "CONDUIT__ROUTER__MAX_RETRIES": "1",
        "CONDUIT__HTTP__TIMEOUT_SECONDS": "2",
        "CONDUIT__CACHE__A__ENABLED": "true",
    }
    assert [o.variable for o in parse(environ)] == sorted(environ)


@pytest.mark.parametrize(
    ("variable", "fragment"),
    [
        ("CONDUIT__NOPE__FIELD", "no area 'nope'"),
        ("CONDUIT__", "no area ''"),
        ("CONDUIT__ROUTER", "router has no field ''"),
        ("CONDUIT__ROUTER__NO_SUCH_FIELD", "router has no field 'no_such_field'"),
        ("CONDUIT__ROUTER____MAX_RETRIES", "an empty part"),
        ("CONDUIT__ROUTER__DEFAULT__MAX_RETRIES", "router has no field 'default.max_retries'"),
        ("CONDUIT__CACHE__ENABLED", "cache has no field ''"),  # keyed: the key comes first
        ("CONDUIT__CACHE__EMBEDDINGS__NOPE", "cache has no field 'nope'"),
    ],
)
def test_unknown_area_or_field_names_the_variable(variable: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse({variable: "1", "CONDUIT__ROUTER__MAX_RETRIES": "2"})
    message = str(caught.value)
    assert message.startswith("invalid configuration overrides: ")
    assert f"{variable}: " in message
    assert fragment in message
    assert "CONDUIT__ROUTER__MAX_RETRIES" not in message  # the valid one is not blamed


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        parse({"CONDUIT__NOPE__X": "1", "CONDUIT__ROUTER__NOPE": "1"})
    assert "CONDUIT__NOPE__X" in str(caught.value)
    assert "CONDUIT__ROUTER__NOPE" in str(caught.value)


# -- effective --------------------------------------------------------------------------


def test_precedence_per_field_env_over_store_over_default() -> None:
    overrides = parse({"CONDUIT__ROUTER__MAX_RETRIES": "9"})
    stored = {"max_retries": 5, "default_strategy": "leastcost"}
    result = effective(RouterConfig, SINGLETON_KEY, stored, overrides)
    assert result.value == RouterConfig(max_retries=9, default_strategy="leastcost")
    assert result.sources == {
        "default_strategy": "store",
        "max_retries": "env",
        "retry_base_delay_ms": "default",
        "retry_max_delay_ms": "default",
        "fallbacks_enabled": "default",
    }


def test_without_overrides_store_then_default() -> None:
    result = effective(RouterConfig, SINGLETON_KEY, {"max_retries": 5}, [])
    assert result.value.max_retries == 5  # type: ignore[attr-defined]
    assert result.value.retry_max_delay_ms == 10000  # type: ignore[attr-defined]
    assert set(result.sources.values()) == {"store", "default"}
    assert result.sources["max_retries"] == "store"


def test_an_override_of_a_default_field() -> None:
    overrides = parse({"CONDUIT__ROUTER__FALLBACKS_ENABLED": "true"})
    result = effective(RouterConfig, SINGLETON_KEY, {}, overrides)
    assert result.value.fallbacks_enabled is True  # type: ignore[attr-defined]
    assert result.sources["fallbacks_enabled"] == "env"
    assert result.sources["max_retries"] == "default"


def test_a_string_value_reaches_a_literal_field() -> None:
    overrides = parse({"CONDUIT__ROUTER__DEFAULT_STRATEGY": "roundrobin"})
    result = effective(RouterConfig, SINGLETON_KEY, {"default_strategy": "simple"}, overrides)
    assert result.value.default_strategy == "roundrobin"  # type: ignore[attr-defined]


def test_nested_override_merges_into_the_stored_object() -> None:
    overrides = parse({"CONDUIT__HTTP__RETRY__MAX_RETRIES": "7"})
    stored = {"retry": {"max_delay_s": 60.0}, "timeout_seconds": 20}
    result = effective(HttpConfig, SINGLETON_KEY, stored, overrides)
    assert result.value == HttpConfig.model_validate(
        {"retry": {"max_retries": 7, "max_delay_s": 60.0}, "timeout_seconds": 20}
    )
    # the top-level field keeps its own source; the overridden leaf is listed dotted
    assert result.sources == {
        "retry": "store",
        "timeout_seconds": "store",
        "retry.max_retries": "env",
    }
    assert stored == {"retry": {"max_delay_s": 60.0}, "timeout_seconds": 20}  # not mutated


def test_nested_override_of_a_default_object() -> None:
    overrides = parse({"CONDUIT__HTTP__RETRY__INITIAL_DELAY_S": "0.5"})
    result = effective(HttpConfig, SINGLETON_KEY, {}, overrides)
    assert result.value.retry.initial_delay_s == 0.5  # type: ignore[attr-defined]
    assert result.value.retry.max_retries == 3  # type: ignore[attr-defined]
    assert result.sources["retry"] == "default"
    assert result.sources["retry.initial_delay_s"] == "env"


def test_a_json_object_replaces_a_whole_nested_field() -> None:
    overrides = parse({"CONDUIT__HTTP__RETRY": '{"max_retries": 1}'})
    stored = {"retry": {"max_delay_s": 60.0}}
    result = effective(HttpConfig, SINGLETON_KEY, stored, overrides)
    assert result.value.retry.max_retries == 1  # type: ignore[attr-defined]
    assert result.value.retry.max_delay_s == 30.0  # type: ignore[attr-defined]
    assert result.sources["retry"] == "env"


def test_keyed_entry_only_its_own_overrides() -> None:
    overrides = parse(
        {
            "CONDUIT__CACHE__EMBEDDINGS__ENABLED": "false",
            "CONDUIT__CACHE__CHAT__MAX_ENTRIES": "5",
        },
        cache=["Embeddings", "chat"],
    )
    embeddings = effective(CacheConfig, "Embeddings", {"max_entries": 50}, overrides)
    assert embeddings.value == CacheConfig(enabled=False, max_entries=50)
    assert embeddings.sources["enabled"] == "env"
    assert embeddings.sources["max_entries"] == "store"
    chat = effective(CacheConfig, "chat", {}, overrides)
    assert chat.value == CacheConfig(max_entries=5)
    assert chat.sources["enabled"] == "default"
    other = effective(CacheConfig, "other", {"enabled": True}, overrides)
    assert "env" not in other.sources.values()


def test_an_invalid_result_names_the_variable() -> None:
    overrides = parse({"CONDUIT__ROUTER__MAX_RETRIES": "99", "CONDUIT__HTTP__TIMEOUT_SECONDS": "5"})
    with pytest.raises(SettingsError) as caught:
        effective(RouterConfig, SINGLETON_KEY, {}, overrides)
    message = str(caught.value)
    assert message.startswith("CONDUIT__ROUTER__MAX_RETRIES: ")
    assert "max_retries" in message
    assert "CONDUIT__HTTP__TIMEOUT_SECONDS" not in message


def test_a_wrongly_typed_value_names_the_variable() -> None:
    overrides = parse({"CONDUIT__ROUTER__MAX_RETRIES": "many"})
    with pytest.raises(SettingsError, match="CONDUIT__ROUTER__MAX_RETRIES"):
        effective(RouterConfig, SINGLETON_KEY, {}, overrides)


def test_an_override_clashing_with_a_stored_value_names_the_variable() -> None:
    overrides = parse({"CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "5000"})
    assert effective(RouterConfig, SINGLETON_KEY, {}, overrides).value.retry_base_delay_ms == 5000  # type: ignore[attr-defined]
    with pytest.raises(SettingsError, match="CONDUIT__ROUTER__RETRY_BASE_DELAY_MS") as caught:
        effective(RouterConfig, SINGLETON_KEY, {"retry_max_delay_ms": 1000}, overrides)
    assert "retry_base_delay_ms must be <= retry_max_delay_ms" in str(caught.value)


def test_an_unknown_nested_field_fails_at_validation_naming_the_variable() -> None:
    overrides = parse({"CONDUIT__HTTP__RETRY__NOPE": "1"})  # only the top level is checked early
    with pytest.raises(SettingsError, match="CONDUIT__HTTP__RETRY__NOPE"):
        effective(HttpConfig, SINGLETON_KEY, {}, overrides)


def test_several_bad_variables_of_one_entry_are_all_named() -> None:
    overrides = parse(
        {
            "CONDUIT__ROUTER__MAX_RETRIES": "99",
            "CONDUIT__ROUTER__DEFAULT_STRATEGY": "fastest",
            "CONDUIT__ROUTER__FALLBACKS_ENABLED": "true",
        }
    )
    with pytest.raises(SettingsError) as caught:
        effective(RouterConfig, SINGLETON_KEY, {}, overrides)
    message = str(caught.value)
    assert message.startswith("CONDUIT__ROUTER__DEFAULT_STRATEGY, CONDUIT__ROUTER__MAX_RETRIES: ")
    assert "FALLBACKS_ENABLED" not in message


def test_overrides_clashing_with_each_other_are_all_named() -> None:
    overrides = parse(
        {
            "CONDUIT__ROUTER__RETRY_BASE_DELAY_MS": "900",
            "CONDUIT__ROUTER__RETRY_MAX_DELAY_MS": "100",
        }
    )
    with pytest.raises(SettingsError) as caught:
        effective(RouterConfig, SINGLETON_KEY, {}, overrides)
    assert str(caught.value).startswith(
        "CONDUIT__ROUTER__RETRY_BASE_DELAY_MS, CONDUIT__ROUTER__RETRY_MAX_DELAY_MS: value: "
    )


def test_an_invalid_stored_value_without_overrides_is_not_a_settings_error() -> None:
    with pytest.raises(InvalidValueError) as caught:
        effective(RouterConfig, SINGLETON_KEY, {"max_retries": 99}, [])
    assert not isinstance(caught.value, SettingsError)


def test_numeric_looking_text_for_a_string_field_must_be_quoted_json() -> None:
    bare = parse({"CONDUIT__GLOBAL_SETTING__BANNER__VALUE": "123"})
    with pytest.raises(SettingsError, match="CONDUIT__GLOBAL_SETTING__BANNER__VALUE"):
        effective(GlobalSetting, "banner", {"value": "x"}, bare)
    quoted = parse({"CONDUIT__GLOBAL_SETTING__BANNER__VALUE": '"123"'})
    assert effective(GlobalSetting, "banner", {"value": "x"}, quoted).value == GlobalSetting(
        value="123"
    )


def test_only_the_variables_of_the_bad_fields_are_named() -> None:
    overrides = parse(
        {
            "CONDUIT__HTTP__RETRY__NOPE": "1",
            "CONDUIT__HTTP__TIMEOUT_SECONDS": "5",
            "CONDUIT__HTTP__RETRY__MAX_RETRIES": "2",
        }
    )
    with pytest.raises(SettingsError) as caught:
        effective(HttpConfig, SINGLETON_KEY, {}, overrides)
    assert str(caught.value) == (
        "CONDUIT__HTTP__RETRY__NOPE: retry.nope: Extra inputs are not permitted"
    )


def test_a_nested_clash_names_the_nested_variables() -> None:
    overrides = parse(
        {"CONDUIT__HTTP__RETRY__INITIAL_DELAY_S": "50", "CONDUIT__HTTP__TIMEOUT_SECONDS": "5"}
    )
    with pytest.raises(SettingsError) as caught:
        effective(HttpConfig, SINGLETON_KEY, {}, overrides)
    assert str(caught.value).startswith("CONDUIT__HTTP__RETRY__INITIAL_DELAY_S: retry: ")


def test_an_invalid_stored_value_is_not_blamed_on_an_unrelated_override() -> None:
    overrides = parse({"CONDUIT__ROUTER__DEFAULT_STRATEGY": "random"})
    with pytest.raises(InvalidValueError) as caught:
        effective(RouterConfig, SINGLETON_KEY, {"max_retries": 99}, overrides)
    assert not isinstance(caught.value, SettingsError)
    assert "max_retries" in str(caught.value)
    # an override of the bad field mends it
    mended = parse({"CONDUIT__ROUTER__MAX_RETRIES": "4"})
    assert effective(RouterConfig, SINGLETON_KEY, {"max_retries": 99}, mended).value == (
        RouterConfig(max_retries=4)
    )


def test_an_override_too_small_to_define_a_new_entry_is_blamed() -> None:
    overrides = parse({"CONDUIT__PROVIDER__OPENAI__ENABLED": "false"})
    with pytest.raises(SettingsError) as caught:
        effective(ProviderConfig, "openai", {}, overrides)
    assert str(caught.value).startswith("CONDUIT__PROVIDER__OPENAI__ENABLED: provider_type: ")
