"""Reading log rows and writing environment states so that one bad entry never stops
the others: a row that does not decode becomes a :class:`BrokenRow` (its entry is
marked broken, the rest go on), and a state whose value cannot be encoded is written
with that entry marked instead of failing the whole write."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent

from domain.address import Address
from domain.entry import ConfigEntry
from domain.environment import EntryState, EnvState
from domain.stored import BrokenEntry, EntryProblem, advance_checked, broken_at
from domain.values import JsonObject
from infrastructure.projection.log import as_log_row, decode
from projections.records import LogRecord

log = logging.getLogger("conduit_config.replay")
_MARK = "x"  # key of the problem of a broken entry in a stored state item
_warned: set[tuple[str, int]] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True)
class BrokenRow:
    """A log row whose event cannot be decoded: where it is, never what it holds."""

    position: int
    entry_id: UUID
    version: int
    environment: str
    area: str
    key: str

    @property
    def problem(self) -> str:
        """Why its entry is not served."""
        return f"its event at version {self.version} (position {self.position}) does not decode"

    def mark(self, state: EnvState) -> None:
        """Mark its entry broken in ``state``."""
        broken_at(
            state,
            area=self.area,
            key=self.key,
            version=self.version,
            position=self.position,
            problem=self.problem,
        )


def warn_once(
    kind: str, position: int, message: str, *args: object, logger: logging.Logger = log
) -> None:
    """Log a warning about a stored thing once per process (reads repeat them)."""
    with _warned_lock:
        if (kind, position) in _warned:
            return
        if len(_warned) > 10_000:
            _warned.clear()
        _warned.add((kind, position))
    logger.warning(message, *args)


def decode_each(mapper: Mapper[UUID], rows: Iterable[Sequence[Any]]) -> list[LogRecord | BrokenRow]:
    """Rows of :func:`~infrastructure.projection.log.log_query` (``LogRow``, or plain
    tuples in its column order) as records, in order; a row that does not decode
    (whatever the reason: it is data we cannot read) becomes a :class:`BrokenRow`.
    Rows without an index entry are left out, as by the readers."""
    items: list[LogRecord | BrokenRow] = []
    for row in map(as_log_row, rows):
        address = row.address
        if address is None:
            continue
        try:
            items.append(decode(mapper, row))
        except Exception as exc:  # whatever the reason, the row is data we cannot read
            broken = BrokenRow(row.position, row.entry_id, row.version, *address)
            warn_once(
                "decode",
                broken.position,
                "%s:%s/%s: %s (%s); it is skipped, `verify` names it",
                broken.environment,
                broken.area,
                broken.key,
                broken.problem,
                type(exc).__name__,
            )
            items.append(broken)
    return items


def replay_entry(
    mapper: Mapper[UUID], address: Address, stored_events: Iterable[StoredEvent]
) -> tuple[EntryState | None, JsonObject]:
    """One entry's state after its stored events, an event that does not decode marking
    it broken (a later event carrying the whole value makes it whole again); and the
    metadata of the last event that decoded."""
    state: EnvState = {}
    meta: JsonObject = {}
    where = {"area": address.area, "key": address.key}
    for stored in stored_events:
        version = stored.originator_version
        try:
            event = mapper.to_domain_event(stored)
        except Exception:  # whatever the reason, the row is data we cannot read
            problem = f"its event at version {version} does not decode"
            broken_at(state, **where, version=version, position=0, problem=problem)
            continue
        assert isinstance(event, ConfigEntry.Event)
        advance_checked(state, **where, version=version, position=0, event=event)
        meta = event.meta.model_dump(mode="json")
    return state.get((address.area, address.key)), meta


def decode_rows(mapper: Mapper[UUID], rows: Sequence[Sequence[Any]]) -> list[LogRecord]:
    """The rows that decode, as records (the others are logged and skipped)."""
    return [item for item in decode_each(mapper, rows) if isinstance(item, LogRecord)]


def state_items(entries: Iterable[EntryState]) -> tuple[list[dict[str, Any]], list[EntryProblem]]:
    """The compact JSON items of a state's entries (checkpoints, last-known-good copies),
    with each entry whose value cannot be encoded written as a marked broken entry; and
    those entries. Broken entries keep their mark."""
    items = [_item(e) for e in entries]
    try:
        orjson.dumps(items)
    except orjson.JSONEncodeError:
        pass
    else:
        return items, []
    marked: list[EntryProblem] = []
    for index, item in enumerate(items):
        try:
            orjson.dumps([item])  # as deep as it sits in the whole list
        except orjson.JSONEncodeError as exc:
            reason = f"its value cannot be encoded as JSON ({exc})"
            items[index] = {**item, "s": {}, _MARK: reason}
            marked.append(EntryProblem(item["a"], item["k"], reason))
    return items, marked


def _item(entry: EntryState) -> dict[str, Any]:
    item = entry.to_json()
    if isinstance(entry, BrokenEntry):
        item[_MARK] = entry.problem
    return item


def state_from_items(items: Any) -> EnvState:
    """Inverse of :func:`state_items`; an item whose value is not a JSON object comes
    back broken. Raises ``ValueError`` when the items are not such a list at all."""
    if not isinstance(items, list):
        raise ValueError("not a list of entries")
    state: EnvState = {}
    for item in items:
        entry = _entry(item)
        state[entry.area, entry.key] = entry
    return state


def _entry(item: Any) -> EntryState:
    try:
        area, key, version, position = str(item["a"]), str(item["k"]), item["v"], item["p"]
        stored, deleted, mark = item["s"], bool(item["d"]), item.get(_MARK)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an entry ({type(exc).__name__})") from None
    if not (isinstance(version, int) and isinstance(position, int)):
        raise ValueError("not an entry (version and position must be integers)")
    if mark is None and not isinstance(stored, dict):
        mark = "its stored value is not a JSON object"
    if mark is not None:
        return BrokenEntry(area, key, version, position, {}, deleted, problem=str(mark))
    return EntryState(area, key, version, position, stored, deleted)
