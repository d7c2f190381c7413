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
from domain.environment import EntryState, EnvState
from domain.errors import ConfigStoreError, NotFoundError, SecretKeyError, SettingsError
from domain.stored import (
    BrokenEntry,
    EntryProblem,
    StoredValueError,
    advance_checked,
    check_entry,
)
from domain.values import JsonObject
from projections.records import LogRecord

log = logging.getLogger("conduit_config.live")
#: Opens the sealed secrets of a value of the given area schema (only its secret fields:
#: other text is never opened); raises :class:`SecretKeyError` when one does not open.
Reveal = Callable[[type[AreaModel], JsonObject], JsonObject]


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
        reveal: Reveal = lambda model, value: value,
    ) -> None:
        self.environment = environment
        self.registry = registry
        self.overrides = list(overrides)
        self._reveal = reveal
        self.state: EnvState = {}
        self.position = 0
        self._typed: dict[str, Mapping[str, AreaModel]] = {}
        self._served: dict[tuple[str, str], Effective] = {}
        self._problems: dict[tuple[str, str], EntryProblem] = {}

    def load(self, position: int, state: EnvState, problems: Iterable[EntryProblem] = ()) -> None:
        """Start from ``state`` at ``position`` (``problems``: entries its source left out
        because they cannot be served). Raises :class:`SettingsError` when an override
        makes a value invalid (start-up must fail, naming the variable)."""
        self.state, self.position = dict(state), position
        self._problems = {(p.area, p.key): p for p in problems}
        typed: dict[str, dict[str, AreaModel]] = {}
        served: dict[tuple[str, str], Effective] = {}
        for area, key in self._addresses():
            result = self._resolve(area, key, strict=True)
            if result is not None:
                typed.setdefault(area, {})[key] = result.value
                served[area, key] = result
        self._typed = {area: MappingProxyType(values) for area, values in typed.items()}
        self._served = served

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
        advance_checked(
            self.state,
            area=record.area,
            key=record.key,
            version=record.version,
            position=record.position,
            event=record.event,
        )
        return self._changed(record.area, record.key, record.version, record.event.event_name)

    def apply_state(self, entry: EntryState, event: str) -> LiveChange | None:
        """Apply an entry's state after an event at ``entry.position`` (what a client
        that follows over HTTP receives), once."""
        if entry.position <= self.position:
            return None
        self.position = entry.position
        self.state[entry.area, entry.key] = entry
        return self._changed(entry.area, entry.key, entry.version, event)

    def apply_broken(
        self, area: str, key: str, version: int, position: int, problem: str
    ) -> LiveChange | None:
        """An event at ``position`` that cannot be decoded: its entry is no longer served
        (reported in :meth:`problems`) until an event replaces its whole value."""
        before = self.state.get((area, key))
        deleted = before.deleted if before is not None else False
        entry = BrokenEntry(area, key, version, position, {}, deleted, problem=problem)
        return self.apply_state(entry, "undecodable")

    def _changed(self, area: str, key: str, version: int, event: str) -> LiveChange:
        old = self.get(area, key)
        result = self._resolve(area, key, strict=False)
        new = None if result is None else result.value
        values = dict(self._typed.get(area, {}))
        if result is None:
            values.pop(key, None)
            self._served.pop((area, key), None)
        else:
            values[key] = result.value
            self._served[area, key] = result
        self._typed[area] = MappingProxyType(values)
        return LiveChange(self.position, area, key, version, event, old, new)

    def advance_to(self, position: int) -> None:
        """Move past positions that hold nothing for this view."""
        self.position = max(self.position, position)

    def get(self, area: str, key: str = SINGLETON_KEY) -> AreaModel | None:
        """The typed value of one entry, or ``None``."""
        return self._typed.get(area, {}).get(key)

    def area(self, area: str) -> Mapping[str, AreaModel]:
        """Every entry of an area, key -> typed value (a read-only snapshot)."""
        return self._typed.get(area, MappingProxyType({}))

    def problems(self) -> list[EntryProblem]:
        """The entries not served because their stored value is not valid under the
        current rules (or cannot be decoded), by area and key."""
        return [self._problems[k] for k in sorted(self._problems)]

    def effective(self, area: str, key: str = SINGLETON_KEY) -> Effective:
        """The value served for ``area``/``key`` with the source of each field (the same
        value :meth:`get` returns). Raises :class:`AreaNotFoundError`, or
        :class:`NotFoundError` when the entry has no value (absent or deleted), or
        :class:`StoredValueError` when its stored value cannot be served."""
        model = self.registry.get(area)
        result = self._served.get((area, key))
        if result is not None:
            return result
        problem = self._problems.get((area, key))
        if problem is not None:
            raise StoredValueError(area, key, problem.reason)
        entry = self.state.get((area, key))
        if entry is not None and not entry.deleted:
            revealed = self._reveal(model, entry.stored)
            effective(model, key, revealed, (), limits=self.registry.limits)  # raises: why
        raise NotFoundError(f"no entry {area}/{key} in environment {self.environment!r}")

    def _resolve(self, area: str, key: str, *, strict: bool) -> Effective | None:
        """What to serve for an entry, or ``None`` when there is nothing servable."""
        if area not in self.registry:
            return None
        model = self.registry.get(area)
        entry = self.state.get((area, key))
        present = entry is not None and not entry.deleted
        overridden = any(o.area == area and o.key == key for o in self.overrides)
        default = model.singleton and key == SINGLETON_KEY
        if entry is None and (area, key) in self._problems:
            return None  # left out by the source: not even defaults stand in for it
        self._problems.pop((area, key), None)
        if not (present or overridden or default):
            return None
        stored: JsonObject = {}
        if entry is not None and present:
            try:
                stored = self._servable(model, entry)
            except StoredValueError as exc:  # reported; the other entries are served
                self._problems[area, key] = exc.problem
                log.warning("%s/%s is not served: %s", area, key, exc.reason)
                return None
        return self._fitting(model, key, stored, strict=strict, alone=present or default)

    def _servable(self, model: type[AreaModel], entry: EntryState) -> JsonObject:
        """The stored value, secrets opened; raises :class:`StoredValueError`."""
        check_entry(model, entry, limits=self.registry.limits)
        try:
            return self._reveal(model, entry.stored)
        except SecretKeyError as exc:  # says which secret, and which key it needs
            raise StoredValueError(entry.area, entry.key, str(exc)) from None

    def _fitting(
        self, model: type[AreaModel], key: str, stored: JsonObject, *, strict: bool, alone: bool
    ) -> Effective | None:
        """The overrides on ``stored``; when they no longer fit (``strict``: raise), the
        stored value alone, if it may stand ``alone`` (not an entry only the environment
        defined)."""
        where = f"{model.area_name}/{key}"
        try:
            return effective(model, key, stored, self.overrides, limits=self.registry.limits)
        except SettingsError as exc:
            if strict:
                raise
            then = "serving the stored value without overrides" if alone else "not serving it"
            log.warning("%s: %s; %s", where, exc, then)
        except ConfigStoreError as exc:  # stored under an older schema: not servable
            log.warning("%s: %s", where, exc)
            return None
        if not alone:
            return None
        try:
            return effective(model, key, stored, (), limits=self.registry.limits)
        except ConfigStoreError:
            return None
