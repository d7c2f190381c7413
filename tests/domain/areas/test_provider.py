from typing import Any

import orjson
import pytest
from pydantic import SecretStr, ValidationError

from domain.areas import ProviderConfig, ProviderKey, is_secret_annotation

TYPES = [
    "openai",
    "groq",
    "replicate",
    "fireworks",
    "openai_compatible",
    "minimax",
    "ultravox",
    "elevenlabs",
    "cerebras",
    "sambanova",
    "deepinfra",
]
SECRET = "sk-live-DO-NOT-LEAK"


def key(name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "api_key": SECRET, **extra}


def assert_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        ProviderConfig.model_validate({"provider_type": "openai", **data})
    errors = info.value.errors()
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors
    assert SECRET not in str(info.value)


def test_minimal() -> None:
    provider = ProviderConfig.model_validate({"provider_type": "groq"})
    assert provider.model_dump() == {
        "provider_type": "groq",
        "base_url": None,
        "enabled": True,
        "keys": [],
    }


def test_key_defaults_and_secret() -> None:
    provider = ProviderConfig.model_validate({"provider_type": "openai", "keys": [key()]})
    (only,) = provider.keys
    assert only.model_dump(exclude={"api_key"}) == {
        "name": "main",
        "organization": None,
        "account_group": 0,
        "is_primary": False,
        "enabled": True,
    }
    assert isinstance(only.api_key, SecretStr)
    assert only.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(provider) + str(provider)
    assert SECRET not in orjson.dumps(provider.model_dump(mode="json")).decode()
    assert is_secret_annotation(ProviderKey.model_fields["api_key"].annotation)


@pytest.mark.parametrize("provider_type", TYPES)
def test_every_type_accepted(provider_type: str) -> None:
    data = {"provider_type": provider_type, "base_url": "https://llm.example.com/v1"}
    assert ProviderConfig.model_validate(data).provider_type == provider_type


@pytest.mark.parametrize(
    "base_url", ["https://api.example.com", "http://localhost:8080/v1", "https://[::1]:9000/"]
)
def test_base_url_accepted_and_kept_as_string(base_url: str) -> None:
    provider = ProviderConfig.model_validate(
        {"provider_type": "openai_compatible", "base_url": base_url}
    )
    assert provider.base_url == base_url
    assert provider.model_dump(mode="json")["base_url"] == base_url


def test_key_boundaries_accepted() -> None:
    keys = [key(f"k{i}", account_group=i) for i in range(32)]
    keys[0] |= {"is_primary": True, "organization": "o" * 100, "name": "n" * 100}
    keys[1] |= {"enabled": False}
    provider = ProviderConfig.model_validate({"provider_type": "openai", "keys": keys})
    assert len(provider.keys) == 32
    assert provider.keys[31].account_group == 31


@pytest.mark.parametrize(
    "data",
    [
        {"enabled": False, "keys": [key(enabled=False)]},
        {"enabled": True, "keys": []},
        {"keys": [key("a", enabled=False), key("b")]},
        {"keys": [key("a", is_primary=True), key("b", enabled=False)]},
    ],
)
def test_key_rules_accepted(data: dict[str, Any]) -> None:
    ProviderConfig.model_validate({"provider_type": "openai", **data})


@pytest.mark.parametrize(
    ("data", "loc", "fragment"),
    [
        ({"provider_type": "anthropic"}, ("provider_type",), "Input should be"),
        ({"provider_type": "OpenAI"}, ("provider_type",), "Input should be"),
        ({"provider_type": "openai_compatible"}, (), "base_url is required"),
        ({"base_url": "ftp://files.example.com"}, ("base_url",), "URL scheme"),
        ({"base_url": "not a url"}, ("base_url",), "URL"),
        ({"keys": [key(f"k{i}") for i in range(33)]}, ("keys",), "at most 32 items"),
        ({"keys": [{"name": "k"}]}, ("keys", 0, "api_key"), "Field required"),
        ({"keys": [key("")]}, ("keys", 0, "name"), "at least 1 character"),
        ({"keys": [key("n" * 101)]}, ("keys", 0, "name"), "at most 100 characters"),
        ({"keys": [key(organization="o" * 101)]}, ("keys", 0, "organization"), "at most 100"),
        ({"keys": [key(account_group=-1)]}, ("keys", 0, "account_group"), "greater than"),
        ({"keys": [key(account_group=33)]}, ("keys", 0, "account_group"), "less than"),
        ({"keys": [key(region="eu")]}, ("keys", 0, "region"), "Extra inputs"),
        ({"keys": [key("a"), key("a")]}, (), "keys: key names must be unique, 'a'"),
        (
            {"keys": [key("a", is_primary=True), key("b", is_primary=True)]},
            (),
            "keys: at most one key may be primary",
        ),
        (
            {"keys": [key("a"), key("b", is_primary=True, enabled=False)]},
            (),
            "keys.1.enabled: the primary key 'b' must be enabled",
        ),
        ({"keys": [key("a", enabled=False)]}, (), "keys: an enabled provider must keep"),
        ({"api_key": SECRET}, ("api_key",), "Extra inputs are not permitted"),
    ],
)
def test_rejected(data: dict[str, Any], loc: tuple[str | int, ...], fragment: str) -> None:
    assert_rejected(data, loc, fragment)


def test_round_trip() -> None:
    provider = ProviderConfig.model_validate(
        {
            "provider_type": "openai_compatible",
            "base_url": "https://llm.example.com/v1",
            "keys": [key("a", is_primary=True, organization="org-1"), key("b", account_group=2)],
        }
    )
    dumped = provider.model_dump(mode="json")
    orjson.dumps(dumped)
    # Secrets dump masked; the store carries them separately.
    assert {k["api_key"] for k in dumped["keys"]} == {"**********"}
    for dumped_key in dumped["keys"]:
        dumped_key["api_key"] = SECRET
    assert ProviderConfig.model_validate(dumped) == provider
