"""What a read serves of a stored value, decided entry by entry.

Every read that serves stored values goes through :meth:`Serving.entry`: the value is
checked against today's rules (schema, limits, decodable, and with ``opened`` its
secrets open with this store's key), completed with defaults when asked, its secrets
redacted or kept sealed, and it must encode as JSON. Whole-environment reads use
:meth:`Serving.partition`: a bad entry is left out and reported as an
:class:`~domain.stored.EntryProblem` (and logged once), the others are served.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from domain.address import SYSTEM_ENVIRONMENT
from domain.areas.base import AreaModel
from domain.environment import EntryState
from domain.errors import AreaNotFoundError
from domain.limits import ValueLimits
from domain.secret_views import Schema, redact
from domain.secrets import SecretCodec
from domain.stored import BrokenEntry, EntryProblem, Opener, StoredValueError, check_entry
from domain.values import JsonObject, to_json
from infrastructure.projection.tolerant import warn_once

log = logging.getLogger("conduit_config.store")
#: Distinct stored values whose check :class:`Serving` remembers.
REMEMBERED = 20_000


@dataclass(frozen=True)
class Served:
    """The entries a read serves (``stored`` is the shown value) and those it left out."""

    entries: list[EntryState] = field(default_factory=list)
    problems: list[EntryProblem] = field(default_factory=list)

    def live(self) -> dict[str, dict[str, JsonObject]]:
        """The live entries' shown values as ``{area: {key: value}}``, sorted."""
        result: dict[str, dict[str, JsonObject]] = {}
        for entry in sorted(self.entries, key=lambda e: (e.area, e.key)):
            if not entry.deleted:
                result.setdefault(entry.area, {})[entry.key] = entry.stored
        return result


class Serving:
    """Turns stored values into what reads serve; see the module's docstring."""

    def __init__(
        self,
        *,
        model_of: Callable[[str, str], type[AreaModel]],
        limits_of: Callable[[str], ValueLimits],
        codec: SecretCodec | None,
        remembered: int = REMEMBERED,
        broken_of: Callable[[str], list[EntryProblem]] | None = None,
    ) -> None:
        self._model_of = model_of
        self._broken_of = broken_of
        self._limits_of = limits_of
        self._codec = codec
        self._remembered = remembered
        self._checked: OrderedDict[tuple[Any, ...], JsonObject | str] = OrderedDict()
        self._lock = threading.Lock()

    def schema(self, environment: str, area: str) -> Schema:
        """The schema that says which fields of an area's values are secret, or ``None``
        when it is not known: an area no longer registered, or the system environment
        (a scheduled change holds another area's value), where anything that looks
        sealed is then taken for a secret."""
        if environment == SYSTEM_ENVIRONMENT:
            return None
        try:
            return self._model_of(environment, area)
        except AreaNotFoundError:
            return None

    def entry(
        self,
        environment: str,
        entry: EntryState,
        *,
        complete: bool = False,
        redacted: bool = True,
        opened: bool = False,
    ) -> JsonObject:
        """The stored value (``complete``: with defaults filled) as a read serves it:
        secrets ``********`` (``redacted=False``: still sealed; ``opened``: each must open
        with this store's key). A deleted entry's value is only checked for its shape.
        Raises :class:`StoredValueError` saying why it cannot be served."""
        try:
            model = self._model_of(environment, entry.area)
        except AreaNotFoundError:
            raise StoredValueError(
                entry.area, entry.key, f"area {entry.area!r} is not registered"
            ) from None
        limits = self._limits_of(environment)
        if entry.deleted or isinstance(entry, BrokenEntry):
            check_entry(model, entry, limits=limits)  # raises unless deleted and an object
            value = entry.stored
            _encodable(entry)
        else:
            full = self._complete(model, limits, entry, opened=opened)
            value = full if complete else entry.stored
        return redact(value, self.schema(environment, entry.area)) if redacted else dict(value)

    def _complete(
        self, model: type[AreaModel], limits: ValueLimits, entry: EntryState, *, opened: bool
    ) -> JsonObject:
        """The complete value of a live entry (secrets sealed), checked once per distinct
        stored value: the check (schema and limits) costs far more than encoding the
        value to recognise it."""
        opens = self._codec.open if opened and self._codec is not None else None
        try:
            body = orjson.dumps(entry.stored)
        except orjson.JSONEncodeError:
            check_entry(model, entry, limits=limits)  # names a better reason, if it has one
            _encodable(entry)
            raise
        key = (model, limits, opens is not None, entry.key, body)
        with self._lock:
            known = self._checked.get(key)
            if known is not None:
                self._checked.move_to_end(key)
        if known is None:
            known = self._check(model, limits, entry, opens)
            with self._lock:
                self._checked[key] = known
                while len(self._checked) > self._remembered:
                    self._checked.popitem(last=False)
        if isinstance(known, str):
            raise StoredValueError(entry.area, entry.key, known)
        return known

    @staticmethod
    def _check(
        model: type[AreaModel], limits: ValueLimits, entry: EntryState, opens: Opener | None
    ) -> JsonObject | str:
        """The complete value, or why the stored one cannot be served."""
        try:
            instance = check_entry(model, entry, limits=limits, opens=opens)
            assert instance is not None  # a live entry
            full = to_json(instance, sparse=False)
            orjson.dumps(full)
        except StoredValueError as exc:
            return exc.reason
        except orjson.JSONEncodeError as exc:
            return f"cannot be encoded as JSON ({exc})"
        return full

    def partition(
        self,
        environment: str,
        entries: Iterable[EntryState],
        *,
        live_only: bool,
        complete: bool = False,
        redacted: bool = True,
        opened: bool = False,
        area: str | None = None,
    ) -> Served:
        """Each entry served as :meth:`entry` serves it, or reported; ``live_only``
        leaves deleted entries out without checking them. Entries whose log is broken
        (quarantined; of ``area`` when given) are reported whether or not they are among
        ``entries``, and never served, so that lists agree with reads of one entry."""
        served = Served()
        problems, left_out = self._quarantined(environment, area)
        served.problems.extend(problems)
        for entry in entries:
            if (live_only and entry.deleted) or (entry.area, entry.key) in left_out:
                continue
            try:
                shown = self.entry(
                    environment, entry, complete=complete, redacted=redacted, opened=opened
                )
            except StoredValueError as exc:
                served.problems.append(exc.problem)
                _warn_left_out(environment, entry, exc.reason)
            else:
                served.entries.append(_with_shown(entry, shown))
        served.problems.sort(key=lambda p: (p.area, p.key))
        return served

    def _quarantined(
        self, environment: str, area: str | None
    ) -> tuple[list[EntryProblem], set[tuple[str, str]]]:
        """The problems of the entries of ``environment`` whose log is broken (of
        ``area`` when given), and the area and key of every one of them."""
        broken = self._broken_of(environment) if self._broken_of is not None else []
        problems = [p for p in broken if area is None or p.area == area]
        return problems, {(p.area, p.key) for p in broken}


def _with_shown(entry: EntryState, shown: JsonObject) -> EntryState:
    """The entry as a read serves it: ``shown`` in place of its stored value."""
    return EntryState(entry.area, entry.key, entry.version, entry.position, shown, entry.deleted)


def _warn_left_out(environment: str, entry: EntryState, reason: str) -> None:
    # Once per position: a list read again and again must not flood the log.
    warn_once(
        "stored",
        entry.position,
        "%s:%s/%s (version %d) is left out of reads: %s",
        environment,
        entry.area,
        entry.key,
        entry.version,
        reason,
        logger=log,
    )


def _encodable(entry: EntryState) -> None:
    try:
        orjson.dumps(entry.stored)
    except orjson.JSONEncodeError as exc:
        reason = f"cannot be encoded as JSON ({exc})"
        raise StoredValueError(entry.area, entry.key, reason) from None
