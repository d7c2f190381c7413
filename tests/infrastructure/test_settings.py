"""Settings: bad values fail naming the variable; user areas load from an import path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.address import Address
from domain.entry import Provenance
from domain.errors import InvalidValueError, SettingsError
from infrastructure.bootstrap import load_registry, open_store, secret_codec
from infrastructure.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONDUIT_CONFIG_POOL_SIZE", "0"),
        ("CONDUIT_CONFIG_SNAPSHOT_INTERVAL", "often"),
        ("CONDUIT_CONFIG_DATABASE_SCHEMA", "Bad-Schema"),
        ("CONDUIT_CONFIG_CONNECT_TIMEOUT", "-1"),
        ("CONDUIT_CONFIG_CONSOLE_IDLE_MINUTES", "0"),
        ("CONDUIT_CONFIG_CONSOLE_IDLE_MINUTES", "43201"),
        ("CONDUIT_CONFIG_CONSOLE_LIFETIME_HOURS", "8761"),
        ("CONDUIT_CONFIG_CONSOLE_SIGNIN_FAILURES", "none"),
        ("CONDUIT_CONFIG_CONSOLE_SIGNIN_FAILURES", "0"),
    ],
)
def test_bad_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


@pytest.mark.parametrize("key", ["not base64 !!", "c2hvcnQ"])
def test_bad_secret_key_is_named(key: str) -> None:
    settings = load_settings(secret_key=key, database_url="postgresql://x/y")
    with pytest.raises(SettingsError, match="CONDUIT_CONFIG_SECRET_KEY"):
        secret_codec(settings, embedded=False)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://host:notaport/db",
        "dbname=x port=abc",
        "a b c",
        "dbname=x port=²",  # a digit to str.isdigit, not to int()
        "dbname=x port=70000",
        "dbname=x port=0",
    ],
)
def test_unparsable_database_url_is_named(url: str) -> None:
    with pytest.raises(SettingsError, match="CONDUIT_CONFIG_DATABASE_URL"):
        load_settings(database_url=url)


def test_bad_area_import_path_is_named() -> None:
    with pytest.raises(SettingsError, match="CONDUIT_CONFIG_AREAS"):
        load_registry(load_settings(areas="tests.nowhere:Missing"))


def test_user_area_is_stored_and_validated(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(areas="tests.infrastructure.custom_area:GuardrailConfig")
    who = Provenance(actor="u", correlation_id="u")
    address = Address("default", "guardrail", "pii")
    with open_store(settings) as store:
        store.set(address, {"mode": "block"}, provenance=who)
        value: dict[str, Any] = store.get(address).value
        assert value == {"mode": "block", "threshold": 0.5}
        with pytest.raises(InvalidValueError, match="threshold"):
            store.patch(address, {"threshold": 3}, provenance=who)
