"""The area registry: built-in areas plus any a user registers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from domain.areas.base import AreaModel
from domain.errors import AreaNotFoundError, ConfigStoreError
from domain.limits import DEFAULT_LIMITS, ValueLimits

_AREA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


class AreaRegistry:
    """Maps area names to their schema classes, and holds the :class:`ValueLimits`
    every value of these areas keeps.

    ``register`` raises :class:`ConfigStoreError` for a bad or duplicate name;
    ``get`` raises :class:`AreaNotFoundError` for an unknown one.
    """

    def __init__(self, *, limits: ValueLimits = DEFAULT_LIMITS) -> None:
        self._areas: dict[str, type[AreaModel]] = {}
        self.limits = limits

    def register(self, model: type[AreaModel], *, replace: bool = False) -> None:
        """Add an area schema under its ``area_name``."""
        if not (isinstance(model, type) and issubclass(model, AreaModel)):
            raise ConfigStoreError(f"{model!r} is not an AreaModel subclass")
        name = model.area_name
        if not _AREA_NAME.match(name):
            raise ConfigStoreError(
                f"area name {name!r} of {model.__qualname__} must match {_AREA_NAME.pattern}"
            )
        if name in self._areas and not replace and self._areas[name] is not model:
            raise ConfigStoreError(f"area {name!r} is already registered")
        self._areas[name] = model

    def get(self, name: str) -> type[AreaModel]:
        """Return the schema of an area."""
        try:
            return self._areas[name]
        except KeyError:
            known = ", ".join(sorted(self._areas))
            raise AreaNotFoundError(f"unknown area {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        """Registered area names, sorted."""
        return sorted(self._areas)

    def __contains__(self, name: object) -> bool:
        return name in self._areas

    def __iter__(self) -> Iterator[type[AreaModel]]:
        return iter(self._areas[n] for n in self.names())
