"""Entry addresses: ``(environment, area, key)`` and the aggregate id derived from them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache

from domain.errors import ConfigStoreError

# Fixed forever: changing it would orphan every stored entry.
ADDRESS_NAMESPACE = uuid.UUID("6f1c3a52-5d1e-4f0b-9a57-0c9d7e1b2a44")
DEFAULT_ENVIRONMENT = "default"
#: Holds the store's own entries (API tokens). Its leading underscore makes it an
#: invalid name for users, so no command that takes an environment name can reach it.
SYSTEM_ENVIRONMENT = "_system"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$")


class InvalidAddressError(ConfigStoreError):
    """An environment, area or key name is malformed."""


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid environment or key name, else raise."""
    if not _NAME.fullmatch(name):
        raise InvalidAddressError(
            f"invalid {kind} {name!r}: use 1-100 letters, digits or _.:@- "
            "(starting with a letter or digit)"
        )
    return name


@lru_cache(maxsize=65_536)
def _entry_id(environment: str, area: str, key: str) -> uuid.UUID:
    # Writes hash the same few addresses over and over; the digest is worth keeping.
    return uuid.uuid5(ADDRESS_NAMESPACE, f"{environment}\x1f{area}\x1f{key}")


@dataclass(frozen=True, order=True)
class Address:
    """Where an entry lives. ``str()`` gives ``area/key``."""

    environment: str
    area: str
    key: str

    def __post_init__(self) -> None:
        if self.environment != SYSTEM_ENVIRONMENT:
            check_name("environment", self.environment)
        check_name("area", self.area)
        check_name("key", self.key)

    @cached_property
    def entry_id(self) -> uuid.UUID:
        """UUIDv5 of the address: one aggregate per address by construction."""
        return _entry_id(self.environment, self.area, self.key)

    @classmethod
    def parse(cls, text: str, *, environment: str, default_key: str | None = None) -> Address:
        """Parse ``area/key`` (or a bare ``area`` when ``default_key`` is given)."""
        area, sep, key = text.partition("/")
        if not sep:
            if default_key is None:
                raise InvalidAddressError(f"expected AREA/KEY, got {text!r}")
            key = default_key
        return cls(environment, area, key)

    def __str__(self) -> str:
        return f"{self.area}/{self.key}"
