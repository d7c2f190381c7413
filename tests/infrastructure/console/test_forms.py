"""The entry editor's form: fields generated from an area's model, and the posted form
turned back into the sparse stored value."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from domain.areas import BUILTIN_AREAS, AreaModel
from domain.areas.cache import CacheConfig
from domain.areas.http import HttpConfig
from domain.areas.model_mapping import ModelMapping
from domain.areas.provider import ProviderConfig
from domain.areas.router import RouterConfig
from domain.areas.virtual_key import VirtualKey
from domain.secret_views import redact
from domain.secrets import REDACTED
from domain.values import complete, normalize
from infrastructure.console.form_parse import MAX_INDEX
from infrastructure.console.forms import (
    INDEX_PLACEHOLDER,
    FormField,
    form_fields,
    value_from_form,
)
from tests.infrastructure.custom_area import GuardrailConfig
from tests.infrastructure.loose_area import LooseConfig
from tests.infrastructure.union_area import ChoiceConfig

SEALED_A = "enc:v2:k1:c2VhbGVkLWE"  # sealed-looking text: the form never opens it
SEALED_B = "enc:v2:k1:c2VhbGVkLWI"

Form = dict[str, str | list[str]]

#: A stored value of every built-in area (and of the test's user areas), as written by
#: users: some fields equal to their default stored on purpose, others left out.
SAMPLES: dict[str, dict[str, Any]] = {
    "router": {"default_strategy": "leastcost", "max_retries": 3, "retry_max_delay_ms": 20000},
    "model_deployment": {
        "model_name": "gpt-4o",
        "provider": "openai",
        "weight": 3,
        "rpm": 100,
        "input_cost_per_1k_tokens": 0.0025,
        "supports_embeddings": True,
        "enabled": True,
    },
    "fallback": {"fallbacks": ["gpt-4o-mini", "claude-3"], "enabled": False},
    "provider": {
        "provider_type": "openai_compatible",
        "base_url": "https://api.example.com/v1",
        "keys": [
            {"name": "main", "api_key": SEALED_A, "is_primary": True, "organization": "org-1"},
            {"name": "spare", "api_key": SEALED_B, "account_group": 2, "enabled": False},
        ],
    },
    "model_mapping": {
        "provider": "openai",
        "provider_model": "gpt-4o",
        "max_context_tokens": 128000,
        "capabilities": {"supports_vision": True, "supports_audio": False},
    },
    "virtual_key": {
        "key_hash": "a" * 64,
        "description": "Team <b>A</b> — ünïcode ✓",
        "max_budget": 12.5,
        "budget_duration": "monthly",
        "expires_at": "2030-01-31T12:00:00Z",
        "allowed_models": ["gpt-4o", "claude-3"],
        "rate_limit_rpm": 60,
        "metadata": {"team": "a", "tags": ["x", 1, True, None], "ratio": 1.5},
    },
    "model_cost": {
        "model_id_pattern": "gpt-4*",
        "input_cost_per_million_tokens": 2.5,
        "cached_input_cost_per_million_tokens": 1e-05,
        "effective_date": "2025-01-01",
        "expiry_date": "2026-06-30T00:00:00+02:00",
        "priority": 5,
    },
    "cache": {
        "cache_type": "redis",
        "default_ttl_seconds": 600,
        "eviction_policy": "lfu",
        "model_rules": [
            {"model_pattern": "gpt-*", "ttl_seconds": 60},
            {"model_pattern": "claude*", "enabled": False},
        ],
    },
    "ip_filter": {"filter_type": "deny", "cidr": "10.0.0.0/8", "description": "internal"},
    "http": {"retry": {"max_retries": 5, "max_delay_s": 60.0}, "timeout_seconds": 30},
    "notifications": {"budget_warning_pct": 50, "enabled": False},
    "global_setting": {"value": ""},
    "feature_flag": {"enabled": True, "rollout_percent": 25},
    "guardrail": {"mode": "block", "threshold": 0.75},
    "choice": {"item": {"kind": "secret", "token": SEALED_A}},
    "loose": {"data": {"a": [1, 2.0, True, None, "x"], "b": {"c": -3}}},
}
USER_AREAS: tuple[type[AreaModel], ...] = (GuardrailConfig, ChoiceConfig, LooseConfig)
ALL_AREAS = (*BUILTIN_AREAS, *USER_AREAS)


def walk(fields: list[FormField] | tuple[FormField, ...]) -> Iterator[FormField]:
    """Every field, nested ones and group templates included."""
    for field in fields:
        yield field
        yield from walk(field.children)
        if field.template is not None:
            yield from walk((field.template,))


def posted(fields: list[FormField] | tuple[FormField, ...]) -> Form:
    """What a browser posts for a form showing ``fields`` unchanged."""
    form: Form = {}
    for field in fields:
        if field.kind == "object":
            form.update(posted(field.children))
        elif field.kind == "group":
            for item in field.children:
                form[item.name] = ""  # the item's hidden marker
                form.update(posted(item.children))
        elif field.kind == "toggle":
            if field.value == "true":
                form[field.name] = "on"
        elif field.kind == "secret":
            form[field.name] = ""
        else:
            form[field.name] = field.value
    return form


def fields_of(model: type[AreaModel], stored: dict[str, Any]) -> list[FormField]:
    return form_fields(model, stored, complete(model, stored, key="main"))


def by_name(fields: list[FormField]) -> dict[str, FormField]:
    return {field.name: field for field in walk(fields)}


def test_every_builtin_area_has_a_sample() -> None:
    assert {model.area_name for model in ALL_AREAS} == set(SAMPLES)


@pytest.mark.parametrize("model", ALL_AREAS, ids=lambda m: m.area_name)
def test_round_trip_gives_back_the_stored_value(model: type[AreaModel]) -> None:
    stored = normalize(model, SAMPLES[model.area_name], key="main")
    value, errors = value_from_form(model, posted(fields_of(model, stored)), stored)
    assert errors == []
    assert value == redact(stored, model)  # each kept secret is ********
    normalize(model, value, key="main")  # and the store takes it


@pytest.mark.parametrize("model", ALL_AREAS, ids=lambda m: m.area_name)
def test_a_new_entry_posted_unchanged_stores_nothing_but_required_fields(
    model: type[AreaModel],
) -> None:
    fields = form_fields(model, {}, {})
    value, errors = value_from_form(model, posted(fields), {})
    assert errors == []
    required = {field.name for field in fields if field.required}
    assert set(value) <= required
    assert all(field.origin == ("unset" if field.required else "default") for field in fields)


def test_enums_are_selects_with_exactly_their_options() -> None:
    fields = by_name(fields_of(RouterConfig, {}))
    strategy = fields["default_strategy"]
    assert strategy.kind == "select"
    assert [o.value for o in strategy.options] == [
        "simple",
        "roundrobin",
        "leastcost",
        "leastlatency",
        "priority",
        "random",
        "leastused",
        "passthrough",
    ]
    assert strategy.value == "simple"
    assert strategy.origin == "default"
    assert strategy.default == "simple"
    cache = by_name(fields_of(CacheConfig, {}))
    assert [o.value for o in cache["cache_type"].options] == ["memory", "redis"]
    assert [o.value for o in cache["eviction_policy"].options] == [
        "lru",
        "lfu",
        "fifo",
        "random",
        "priority",
        "ttl",
    ]


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Palette(AreaModel):
    area_name: ClassVar[str] = "palette"
    colour: Colour = Colour.RED
    size: Literal[1, 2, 3] = 1


def test_python_enums_and_int_literals_are_selects_and_parse_back() -> None:
    fields = by_name(form_fields(Palette, {}, {}))
    assert [o.value for o in fields["colour"].options] == ["red", "green"]
    assert [o.value for o in fields["size"].options] == ["1", "2", "3"]
    value, errors = value_from_form(Palette, {"colour": "green", "size": "3"}, {})
    assert (value, errors) == ({"colour": "green", "size": 3}, [])


def test_optional_booleans_are_three_state_selects() -> None:
    stored = SAMPLES["model_mapping"]
    fields = by_name(fields_of(ModelMapping, stored))
    vision = fields["capabilities.supports_vision"]
    assert (vision.kind, vision.nullable, vision.value) == ("select", True, "true")
    assert [o.value for o in vision.options] == ["true", "false"]
    assert fields["capabilities.supports_streaming"].value == ""
    form = posted(fields_of(ModelMapping, stored))
    form["capabilities.supports_vision"] = ""  # back to unset
    value, errors = value_from_form(ModelMapping, form, stored)
    assert errors == []
    assert value["capabilities"] == {"supports_audio": False}


def test_bounds_descriptions_and_defaults_are_carried() -> None:
    fields = by_name(fields_of(ProviderConfig, SAMPLES["provider"]))
    group = fields["keys"]
    assert group.bounds.max_length == 32
    account = fields["keys.0.account_group"]
    assert (account.kind, account.bounds.minimum, account.bounds.maximum) == ("integer", 0, 32)
    assert account.description == "Account group, for keys sharing a rate limit."
    assert (account.value, account.origin, account.default) == ("0", "default", "0")
    assert fields["base_url"].bounds.max_length == 2000
    assert fields["keys.0.name"].bounds.min_length == 1
    cache = by_name(fields_of(CacheConfig, {}))
    assert cache["max_entries"].bounds.exclusive_minimum == 0
    vk = by_name(fields_of(VirtualKey, SAMPLES["virtual_key"]))
    assert vk["key_hash"].bounds.pattern == "^[0-9a-f]{64}$"
    assert (vk["max_budget"].kind, vk["max_budget"].bounds.minimum) == ("number", 0.01)
    assert vk["allowed_models"].item_bounds is not None
    assert vk["allowed_models"].item_bounds.max_length == 100


def test_stored_fields_are_told_apart_from_defaults() -> None:
    fields = by_name(fields_of(RouterConfig, SAMPLES["router"]))
    assert fields["max_retries"].origin == "stored"  # stored, though equal to the default
    assert fields["retry_base_delay_ms"].origin == "default"
    assert fields["retry_base_delay_ms"].value == "500"


def test_provider_keys_are_a_list_group_with_a_template() -> None:
    fields = by_name(fields_of(ProviderConfig, SAMPLES["provider"]))
    keys = fields["keys"]
    assert keys.kind == "group"
    assert [item.name for item in keys.children] == ["keys.0", "keys.1"]
    assert all(item.kind == "object" for item in keys.children)
    assert [f.name for f in keys.children[1].children] == [
        "keys.1.name",
        "keys.1.api_key",
        "keys.1.organization",
        "keys.1.account_group",
        "keys.1.is_primary",
        "keys.1.enabled",
    ]
    template = keys.template
    assert template is not None
    assert template.name == f"keys.{INDEX_PLACEHOLDER}"
    secret = by_name([template])[f"keys.{INDEX_PLACEHOLDER}.api_key"]
    assert (secret.kind, secret.secret_set) == ("secret", False)


def test_nested_objects_and_free_form_json() -> None:
    fields = by_name(fields_of(HttpConfig, SAMPLES["http"]))
    assert fields["retry"].kind == "object"
    assert (fields["retry.max_retries"].value, fields["retry.max_retries"].origin) == (
        "5",
        "stored",
    )
    assert fields["retry.initial_delay_s"].origin == "default"
    vk = by_name(fields_of(VirtualKey, SAMPLES["virtual_key"]))
    assert vk["metadata"].kind == "json"
    assert vk["allowed_models"].kind == "list"
    assert vk["allowed_models"].values == ("gpt-4o", "claude-3")


def test_a_secret_never_appears_in_any_field() -> None:
    for model in ALL_AREAS:
        stored = normalize(model, SAMPLES[model.area_name], key="main")
        for field in walk(fields_of(model, stored)):
            shown = [field.value, *field.values, field.default or ""]
            assert not any("enc:" in text or "c2VhbGVk" in text for text in shown), field


def test_a_plaintext_secret_is_not_shown_either() -> None:
    stored = {"provider_type": "openai", "keys": [{"name": "k", "api_key": "sk-PLAINTEXT"}]}
    fields = form_fields(ProviderConfig, stored, complete(ProviderConfig, stored, key="p"))
    assert all("sk-PLAINTEXT" not in f.value for f in walk(fields))
    assert by_name(fields)["keys.0.api_key"].secret_set is True


def test_secret_set_and_unset() -> None:
    stored = {"provider_type": "openai", "keys": [{"name": "k", "api_key": SEALED_A}]}
    fields = by_name(fields_of(ProviderConfig, stored))
    assert fields["keys.0.api_key"].secret_set is True
    assert fields["keys.0.api_key"].value == ""


def provider_form() -> tuple[dict[str, Any], Form]:
    stored = normalize(ProviderConfig, SAMPLES["provider"], key="p")
    return stored, posted(fields_of(ProviderConfig, stored))


def test_an_emptied_secret_becomes_the_redaction_placeholder() -> None:
    stored, form = provider_form()
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    assert [key["api_key"] for key in value["keys"]] == [REDACTED, REDACTED]


def test_a_replaced_secret_is_sent_as_typed() -> None:
    stored, form = provider_form()
    form["keys.1.api_key"] = "sk-new"
    value, _ = value_from_form(ProviderConfig, form, stored)
    assert [key["api_key"] for key in value["keys"]] == [REDACTED, "sk-new"]


def test_removing_an_item_keeps_the_other_items_secret() -> None:
    stored, form = provider_form()
    form["keys.0.__remove__"] = "on"
    form["keys.1.is_primary"] = "on"
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    # Matched by name, the store keeps spare's own secret.
    assert value["keys"] == [
        {
            "name": "spare",
            "api_key": REDACTED,
            "account_group": 2,
            "enabled": False,
            "is_primary": True,
        }
    ]


def test_a_renamed_moved_item_carries_its_sealed_secret() -> None:
    stored, form = provider_form()
    form["keys.0.__remove__"] = "on"
    form["keys.1.name"] = "renamed"
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    assert value["keys"][0]["api_key"] == SEALED_B  # not main's secret, not ********


def test_a_moved_item_without_its_sealed_text_asks_for_the_secret_again() -> None:
    stored, form = provider_form()
    shown = redact(stored, ProviderConfig)  # the page only had ********
    form["keys.0.__remove__"] = "on"
    form["keys.1.name"] = "renamed"
    value, errors = value_from_form(ProviderConfig, form, shown)
    assert [e.field for e in errors] == ["keys.1.api_key"]
    assert "api_key" not in value["keys"][0]


def test_a_new_item_from_the_template() -> None:
    stored, form = provider_form()
    form.update({"keys.7.name": "third", "keys.7.api_key": "sk-3", "keys.7.enabled": "on"})
    form["keys.7.account_group"] = "0"
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    assert value["keys"][2] == {"name": "third", "api_key": "sk-3"}


def test_a_new_item_with_an_empty_secret_leaves_it_out() -> None:
    stored, form = provider_form()
    form.update({"keys.2.name": "third", "keys.2.api_key": ""})
    value, _ = value_from_form(ProviderConfig, form, stored)
    assert value["keys"][2] == {"name": "third", "enabled": False}


def test_template_names_are_ignored() -> None:
    stored, form = provider_form()
    form[f"keys.{INDEX_PLACEHOLDER}.name"] = "ghost"
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    assert len(value["keys"]) == 2


def test_removing_every_item_stores_an_empty_list() -> None:
    stored, form = provider_form()
    form["keys.0.__remove__"] = "on"
    form["keys.1.__remove__"] = "on"
    value, _ = value_from_form(ProviderConfig, form, stored)
    assert value["keys"] == []


def test_a_bad_number_names_the_dotted_field() -> None:
    stored, form = provider_form()
    form["keys.1.account_group"] = "two"
    _, errors = value_from_form(ProviderConfig, form, stored)
    assert [e.field for e in errors] == ["keys.1.account_group"]
    assert "whole number" in errors[0].message


@pytest.mark.parametrize(
    "text", ["1.5", "+3", "1_0", "٣", "²", " 3", "3 ", "1e3", "0x10", "9" * 5000, "--1"]
)
def test_integers_are_parsed_strictly(text: str) -> None:
    _, errors = value_from_form(RouterConfig, {"max_retries": text}, {})
    assert [e.field for e in errors] == ["max_retries"]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e999", ".5", "5.", "1,5", "٣.0", "", "-"])
def test_floats_are_parsed_strictly(text: str) -> None:
    value, errors = value_from_form(GuardrailConfig, {"threshold": text}, {"threshold": 0.2})
    if text == "":  # emptied: back to the default
        assert (value, errors) == ({}, [])
    else:
        assert [e.field for e in errors] == ["threshold"]


def test_numbers_within_rules_parse() -> None:
    value, errors = value_from_form(GuardrailConfig, {"threshold": "-1.5e-3"}, {})
    assert (value, errors) == ({"threshold": -0.0015}, [])
    value, errors = value_from_form(RouterConfig, {"max_retries": "-7"}, {})
    assert (value, errors) == ({"max_retries": -7}, [])


def test_an_emptied_optional_field_is_removed() -> None:
    stored = normalize(VirtualKey, SAMPLES["virtual_key"], key="v")
    form = posted(fields_of(VirtualKey, stored))
    form.update({"description": "", "max_budget": "", "expires_at": "", "rate_limit_rpm": ""})
    value, errors = value_from_form(VirtualKey, form, stored)
    assert errors == []
    assert not {"description", "max_budget", "expires_at", "rate_limit_rpm"} & set(value)


def test_a_value_changed_from_its_default_is_stored_and_reset_drops_it() -> None:
    form = posted(fields_of(RouterConfig, {}))
    form["retry_base_delay_ms"] = "250"
    value, _ = value_from_form(RouterConfig, form, {})
    assert value == {"retry_base_delay_ms": 250}
    form["retry_base_delay_ms.__reset__"] = "on"
    value, _ = value_from_form(RouterConfig, form, {"retry_base_delay_ms": 250})
    assert value == {}


def test_toggles_are_checkboxes() -> None:
    form = posted(fields_of(RouterConfig, {}))
    form["fallbacks_enabled"] = "on"
    value, _ = value_from_form(RouterConfig, form, {})
    assert value == {"fallbacks_enabled": True}
    # hidden "false" followed by the checkbox: the last one posted wins
    form["fallbacks_enabled"] = ["false", "true"]
    assert value_from_form(RouterConfig, form, {})[0] == {"fallbacks_enabled": True}
    del form["fallbacks_enabled"]
    value, _ = value_from_form(RouterConfig, form, {"fallbacks_enabled": True})
    assert value == {"fallbacks_enabled": False}
    form["fallbacks_enabled"] = "maybe"
    _, errors = value_from_form(RouterConfig, form, {})
    assert [e.field for e in errors] == ["fallbacks_enabled"]


def test_a_json_field_that_does_not_parse_is_named() -> None:
    stored = normalize(VirtualKey, SAMPLES["virtual_key"], key="v")
    form = posted(fields_of(VirtualKey, stored))
    for bad in ["{", "{'a': 1}", '{"a": NaN}', "[" * 100_000]:
        form["metadata"] = bad
        _, errors = value_from_form(VirtualKey, form, stored)
        assert [e.field for e in errors] == ["metadata"], bad


def test_a_select_value_not_offered_is_an_error() -> None:
    _, errors = value_from_form(RouterConfig, {"default_strategy": "fastest"}, {})
    assert [e.field for e in errors] == ["default_strategy"]


def test_a_list_of_strings_by_lines_or_repeated_inputs() -> None:
    stored = {"fallbacks": ["a"]}
    value, _ = value_from_form(
        type_of("fallback"), {"fallbacks": "b\r\n  c \n\n", "enabled": "on"}, stored
    )
    assert value == {"fallbacks": ["b", "c"]}
    value, _ = value_from_form(type_of("fallback"), {"fallbacks": ["x", "", "y"]}, stored)
    assert value["fallbacks"] == ["x", "y"]


def type_of(area: str) -> type[AreaModel]:
    return next(model for model in ALL_AREAS if model.area_name == area)


class Inner(BaseModel):
    token: SecretStr
    note: str = ""


class Recursive(BaseModel):
    label: str = ""
    child: Recursive | None = None


class Odd(AreaModel):
    """A user area with shapes the built-in ones do not have."""

    area_name: ClassVar[str] = "odd"
    counts: list[int] = Field(default_factory=list, max_length=5)
    inner: Inner | None = None
    tokens: list[SecretStr] = Field(default_factory=list)
    tree: Recursive = Field(default_factory=Recursive)
    pair: tuple[int, str] | None = None


def test_user_area_shapes() -> None:
    stored = {"counts": [1, 2], "inner": {"token": SEALED_A}, "tokens": [SEALED_B]}
    fields = by_name(form_fields(Odd, stored, stored))
    assert (fields["counts"].kind, fields["counts"].item_kind) == ("list", "integer")
    assert fields["counts"].bounds.max_length == 5
    assert (fields["inner.token"].kind, fields["inner.token"].secret_set) == ("secret", True)
    # a list of secrets: shown redacted, ******** kept by the store
    assert (fields["tokens"].kind, fields["tokens"].values) == ("list", (REDACTED,))
    assert fields["pair"].kind == "json"
    assert fields["tree"].kind == "json"  # a model containing itself: free-form
    assert fields["tree"].value == '{\n  "label": "",\n  "child": null\n}'

    value, errors = value_from_form(Odd, posted(form_fields(Odd, stored, stored)), stored)
    assert errors == []
    assert value == {"counts": [1, 2], "inner": {"token": REDACTED}, "tokens": [REDACTED]}
    _, errors = value_from_form(Odd, {"counts": "1\nx\n3"}, {})
    assert [e.field for e in errors] == ["counts.1"]


HOSTILE_TEXT = [
    "x" * 2_000_000,
    "\x00\u202e\ud800\U0010ffff",
    "<script>alert(1)</script>",
    "\u0663\u0664",
    "\U0001d7d9\U0001d7da",  # mathematical digits one, two
]


@pytest.mark.parametrize("model", ALL_AREAS, ids=lambda m: m.area_name)
@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_text_in_every_field_never_raises(model: type[AreaModel], text: str) -> None:
    stored = normalize(model, SAMPLES[model.area_name], key="main")
    form: Form = dict.fromkeys(posted(fields_of(model, stored)), text)
    value, errors = value_from_form(model, form, stored)
    assert isinstance(value, dict)
    assert all(text not in error.message for error in errors)  # input is not echoed whole


def test_hostile_names_are_ignored_or_refused() -> None:
    stored, form = provider_form()
    form.update(
        {
            "unknown": "1",
            "keys.1.unknown": "x",
            "__proto__": "x",
            "keys.٣.name": "arabic digit",
            "keys.01.name": "leading zero",
            "keys.-1.name": "negative",
            "keys..name": "empty",
            "keys.0.name.deeper": "x",
            "\uff2b\uff25\uff39\uff33.0.name": "fullwidth",
            "keys.1000000000.name": "huge",
            "keys.1000000000.api_key": "huge",
            f"keys.{MAX_INDEX + 1}.name": "just past",
            "keys." + "9" * 10_000 + ".name": "very long",
        }
    )
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert sorted(e.field for e in errors) == sorted(
        ["keys.1000000000", f"keys.{MAX_INDEX + 1}", "keys." + "9" * 20]
    )
    assert [key["name"] for key in value["keys"]] == ["main", "spare"]


def test_the_largest_index_is_accepted() -> None:
    stored, form = provider_form()
    form[f"keys.{MAX_INDEX}.name"] = "last"
    value, errors = value_from_form(ProviderConfig, form, stored)
    assert errors == []
    assert value["keys"][-1]["name"] == "last"


def test_values_that_do_not_fit_the_schema_still_render() -> None:
    stored: dict[str, Any] = {
        "provider_type": 7,
        "keys": {"not": "a list"},
        "enabled": "yes",
        "base_url": ["x"],
        "extra": 1,
    }
    fields = by_name(form_fields(ProviderConfig, stored, {}))
    assert fields["provider_type"].value == "7"
    assert fields["keys"].children == ()
    assert fields["base_url"].value == '["x"]'
    assert form_fields(ProviderConfig, "garbage", None) is not None  # type: ignore[arg-type]


def test_a_deep_name_into_a_model_containing_itself_is_unknown() -> None:
    form: Form = {"tree." + "child." * 200 + "label": "x"}
    value, errors = value_from_form(Odd, form, {})
    assert (value, errors) == ({}, [])
