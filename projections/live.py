"""The live view: one environment's current values as typed area models, kept current by
applying log records in order. Pure: the client runtime feeds it and reads from it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from domain.areas.base import SINGLETON_KEY, AreaModel
from domain.areas.registry import AreaRegistry
from domain.effective import Effective, Override, effective
from domain.environment import EnvState, advance
from domain.errors import ConfigStoreError, SettingsError
from domain.values import JsonObject
from projections.records import LogRecord

log = logging.getLogger("conduit_config.live")
Reveal = Callable[[JsonObject], JsonObject]


@dataclass(frozen=True)
class LiveChange:
    """One change of the followed environment: the typed value before and after
    (``None`` when the entry did not exist or was deleted)."""

    position: int
    area: str
    key: str
    version: int
    event: str
    old: AreaModel | None
    new: AreaModel | None


class LiveView:
    """Typed current values of ``environment``; reads never block on the writer."""

    def __init__(
        self,
        *,
        environment: str,
        registry: AreaRegistry,
        overrides: Iterable[Override] = (),
        reveal: Reveal = lambda value: value,
    ) -> None:
        self.environment = environment
        self.registry = registry
        self.overrides = list(overrides)
        self._reveal = reveal
        self.state: EnvState = {}
        self.position = 0
        self._typed: dict[str, Mapping[str, AreaModel]] = {}

    def load(self, position: int, state: EnvState) -> None:
        """Start from ``state`` at ``position``. Raises :class:`SettingsError` when an
        override makes a value invalid (start-up must fail, naming the variable)."""
        self.state, self.position = dict(state), position
        typed: dict[str, dict[str, AreaModel]] = {}
        for area, key in self._addresses():
            value = self._typed_value(area, key, strict=True)
            if value is not None:
                typed.setdefault(area, {})[key] = value
        self._typed = {area: MappingProxyType(values) for area, values in typed.items()}

    def _addresses(self) -> set[tuple[str, str]]:
        found = {k for k, e in self.state.items() if not e.deleted}
        found |= {(o.area, o.key) for o in self.overrides}
        found |= {(m.area_name, SINGLETON_KEY) for m in self.registry if m.singleton}
        return found

    def apply(self, record: LogRecord) -> LiveChange | None:
        """Apply one record (once: records at or before the position are ignored)."""
        if record.position <= self.position:
            return None
        self.position = record.position
        if record.environment != self.environment:
            return None
        area, key = record.area, record.key
        advance(
            self.state,
            area=area,
            key=key,
            version=record.version,
            position=record.position,
            event=record.event,
        )
        old = self.get(area, key)
        new = self._typed_value(area, key, strict=False)
        values = dict(self._typed.get(area, {}))
        if new is None:
            values.pop(key, None)
        else:
            values[key] = new
        self._typed[area] = MappingProxyType(values)
        name = record.event.event_name
        return LiveChange(record.position, area, key, record.version, name, old, new)

    def advance_to(self, position: int) -> None:
        """Move past positions that hold nothing for this view."""
        self.position = max(self.position, position)

    def get(self, area: str, key: str = SINGLETON_KEY) -> AreaModel | None:
        """The typed value of one entry, or ``None``."""
        return self._typed.get(area, {}).get(key)

    def area(self, area: str) -> Mapping[str, AreaModel]:
        """Every entry of an area, key -> typed value (a read-only snapshot)."""
        return self._typed.get(area, MappingProxyType({}))

    def effective(self, area: str, key: str = SINGLETON_KEY) -> Effective:
        """The value with the source of each field. Raises :class:`AreaNotFoundError`."""
        model = self.registry.get(area)
        entry = self.state.get((area, key))
        stored = {} if entry is None or entry.deleted else self._reveal(entry.stored)
        return effective(model, key, stored, self.overrides)

    def _typed_value(self, area: str, key: str, *, strict: bool) -> AreaModel | None:
        if area not in self.registry:
            return None
        model = self.registry.get(area)
        entry = self.state.get((area, key))
        present = entry is not None and not entry.deleted
        overridden = any(o.area == area and o.key == key for o in self.overrides)
        if not (present or overridden or (model.singleton and key == SINGLETON_KEY)):
            return None
        try:
            return self.effective(area, key).value
        except SettingsError as exc:
            if strict:
                raise
            log.warning("%s/%s: %s; serving the stored value without overrides", area, key, exc)
        except ConfigStoreError as exc:  # stored under an older schema: not servable
            log.warning("%s/%s: %s", area, key, exc)
            return None
        stored = self._reveal(entry.stored) if entry is not None and present else {}
        try:
            return effective(model, key, stored, ()).value
        except ConfigStoreError:
            return None
