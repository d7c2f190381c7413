"""Entry addresses: parsing, name rules and the deterministic aggregate id."""

from __future__ import annotations

import uuid

import pytest

from domain.address import ADDRESS_NAMESPACE, Address, InvalidAddressError, check_name
from domain.errors import ConfigStoreError


@pytest.mark.parametrize(
    ("text", "default_key", "expected"),
    [
        ("router", "default", Address("prod", "router", "default")),
        ("provider/openai", None, Address("prod", "provider", "openai")),
        ("provider/openai", "default", Address("prod", "provider", "openai")),
        (
            "model_mapping/gpt-4o@2024:v1.2",
            None,
            Address("prod", "model_mapping", "gpt-4o@2024:v1.2"),
        ),
    ],
)
def test_parse(text: str, default_key: str | None, expected: Address) -> None:
    assert Address.parse(text, environment="prod", default_key=default_key) == expected


@pytest.mark.parametrize(
    "text", ["router", "provider/", "/openai", "", "provider/a/b", "provider/open ai"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidAddressError) as info:
        Address.parse(text, environment="prod")
    assert isinstance(info.value, ConfigStoreError)


def test_parse_without_key_names_the_expected_form() -> None:
    with pytest.raises(InvalidAddressError, match="expected AREA/KEY, got 'router'"):
        Address.parse("router", environment="prod")


@pytest.mark.parametrize(
    "name",
    ["a", "A9", "prod-eu_1", "x.y:z@w", "9lives", "a" * 100],
)
def test_valid_names(name: str) -> None:
    assert check_name("key", name) == name
    assert Address(name, name, name).key == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * 101,
        "-leading-dash",
        "_leading",
        ".hidden",
        "has space",
        "slash/inside",
        "tab\t",
        "new\nline",
        "ünïcode",
        "semi;colon",
        "a\x1fb",
    ],
)
@pytest.mark.parametrize("position", ["environment", "area", "key"])
def test_invalid_names(name: str, position: str) -> None:
    parts = {"environment": "prod", "area": "router", "key": "default"}
    parts[position] = name
    with pytest.raises(InvalidAddressError, match=f"invalid {position} "):
        Address(**parts)


@pytest.mark.parametrize("position", ["environment", "area", "key"])
def test_trailing_newline_rejected(position: str) -> None:
    # "router/default\n" must not become a second entry beside "router/default".
    parts = {"environment": "prod", "area": "router", "key": "default"}
    parts[position] += "\n"
    with pytest.raises(InvalidAddressError):
        Address(**parts)


def test_entry_id_is_deterministic_uuid5() -> None:
    address = Address("prod", "provider", "openai")
    assert address.entry_id == Address("prod", "provider", "openai").entry_id
    assert address.entry_id.version == 5
    assert address.entry_id == uuid.uuid5(ADDRESS_NAMESPACE, "prod\x1fprovider\x1fopenai")
    # Fixed forever: a changed namespace or separator would orphan every stored entry.
    assert str(ADDRESS_NAMESPACE) == "6f1c3a52-5d1e-4f0b-9a57-0c9d7e1b2a44"


def test_entry_id_differs_across_addresses() -> None:
    addresses = [
        Address("prod", "provider", "openai"),
        Address("staging", "provider", "openai"),
        Address("prod", "model_mapping", "openai"),
        Address("prod", "provider", "groq"),
        Address("prod", "provider", "openai2"),
        Address("prodprovider", "x", "openai"),
        Address("prod", "providerx", "openai"),
    ]
    ids = {a.entry_id for a in addresses}
    assert len(ids) == len(addresses)


def test_str_and_ordering() -> None:
    assert str(Address("prod", "provider", "openai")) == "provider/openai"
    assert str(Address("default", "router", "default")) == "router/default"
    assert Address("a", "b", "c") < Address("a", "b", "d") < Address("b", "a", "a")
    with pytest.raises(AttributeError):
        Address("a", "b", "c").key = "d"  # type: ignore[misc]
