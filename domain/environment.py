"""A whole environment at one log position, and the changes between two such states.

Pure: the store replays the log into an :data:`EnvState`, and turns the :class:`Change`
lists computed here into events (restore, apply) or shows them (diff-env, plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from domain.entry import ConfigEntry
from domain.replay import deleted_after, value_after
from domain.values import JsonObject, json_diff, json_equal

EntryKey = tuple[str, str]
Action = Literal["create", "update", "undelete", "delete", "rollback", "unchanged"]


@dataclass(frozen=True)
class EntryState:
    """One entry at a log position: sparse stored value (secrets sealed), version, deleted."""

    area: str
    key: str
    version: int
    position: int
    stored: JsonObject
    deleted: bool

    def to_json(self) -> JsonObject:
        """Compact form kept in checkpoints."""
        return {
            "a": self.area,
            "k": self.key,
            "v": self.version,
            "p": self.position,
            "s": self.stored,
            "d": self.deleted,
        }

    def to_public(self) -> JsonObject:
        """Readable form for clients (``stored`` may hold sealed secrets)."""
        return {
            "area": self.area,
            "key": self.key,
            "version": self.version,
            "position": self.position,
            "stored": self.stored,
            "deleted": self.deleted,
        }

    @classmethod
    def from_public(cls, data: JsonObject) -> EntryState:
        """Inverse of :meth:`to_public`."""
        return cls(
            data["area"],
            data["key"],
            data["version"],
            data["position"],
            data["stored"],
            data["deleted"],
        )

    @classmethod
    def from_json(cls, data: JsonObject) -> EntryState:
        """Inverse of :meth:`to_json`."""
        return cls(data["a"], data["k"], data["v"], data["p"], data["s"], data["d"])


#: An environment's entries (deleted ones included) keyed by ``(area, key)``.
EnvState = dict[EntryKey, EntryState]


def advance(
    state: EnvState, *, area: str, key: str, version: int, position: int, event: ConfigEntry.Event
) -> None:
    """Apply one event of the environment to ``state`` in place."""
    before = state.get((area, key))
    state[area, key] = EntryState(
        area=area,
        key=key,
        version=version,
        position=position,
        stored=value_after(before.stored if before else {}, event),
        deleted=deleted_after(before.deleted if before else False, event),
    )


def live(state: EnvState) -> dict[str, dict[str, JsonObject]]:
    """Stored values of the live entries as ``{area: {key: value}}``, sorted."""
    result: dict[str, dict[str, JsonObject]] = {}
    for (area, key), entry in sorted(state.items()):
        if not entry.deleted:
            result.setdefault(area, {})[key] = entry.stored
    return result


@dataclass(frozen=True)
class Change:
    """One entry's step from its current state towards a wanted one.

    ``changes`` are RFC 6902 operations on the stored value (secrets still sealed:
    redact before showing). ``version`` is the entry's current version (0: new).
    """

    area: str
    key: str
    action: Action
    version: int
    changes: list[JsonObject]
    value: JsonObject | None = None
    target_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain form for output (``value`` omitted: it may hold sealed secrets)."""
        data: dict[str, Any] = {
            "area": self.area,
            "key": self.key,
            "action": self.action,
            "version": self.version,
            "changes": self.changes,
        }
        if self.target_version is not None:
            data["target_version"] = self.target_version
        return data


def _is_live(entry: EntryState | None) -> bool:
    return entry is not None and not entry.deleted


def _deletion(now: EntryState) -> Change:
    return Change(now.area, now.key, "delete", now.version, json_diff(now.stored, {}), None)


def diff_states(before: EnvState, after: EnvState) -> list[Change]:
    """Live entries added, removed (deleted) or changed from ``before`` to ``after``."""
    changes = []
    for area, key in sorted(before.keys() | after.keys()):
        old, new = before.get((area, key)), after.get((area, key))
        old_value = old.stored if old is not None and _is_live(old) else None
        new_value = new.stored if new is not None and _is_live(new) else None
        if json_equal(old_value, new_value):
            continue
        action: Action = (
            "create" if old_value is None else "delete" if new_value is None else "update"
        )
        version = new.version if new is not None else 0
        ops = json_diff(old_value or {}, new_value or {})
        changes.append(Change(area, key, action, version, ops, new_value))
    return changes


def restore_plan(current: EnvState, target: EnvState) -> list[Change]:
    """Steps that make the live entries of ``current`` equal those of ``target``:
    entries created since are deleted, deleted ones come back, changed ones roll back."""
    steps = []
    for area, key in sorted(current.keys() | target.keys()):
        now, then = current.get((area, key)), target.get((area, key))
        if now is None:
            continue  # not in the log up to now: cannot have existed at the target either
        if not _is_live(then):
            if not now.deleted:
                steps.append(_deletion(now))
            continue
        assert then is not None
        if not now.deleted and json_equal(now.stored, then.stored):
            continue
        ops = json_diff({} if now.deleted else now.stored, then.stored)
        if now.deleted and json_equal(now.stored, then.stored):
            steps.append(Change(area, key, "undelete", now.version, ops, then.stored))
        else:
            steps.append(Change(area, key, "rollback", now.version, ops, then.stored, then.version))
    return steps


def apply_plan(
    current: EnvState, wanted: dict[EntryKey, JsonObject], *, prune: bool
) -> list[Change]:
    """Steps that set every wanted entry (stored values already validated and sealed);
    with ``prune``, live entries not wanted are deleted. Unchanged entries are listed
    with action ``unchanged`` so a plan can show them."""
    steps = []
    for area, key in sorted(current.keys() | wanted.keys()):
        now, value = current.get((area, key)), wanted.get((area, key))
        if value is None:
            if prune and now is not None and not now.deleted:
                steps.append(_deletion(now))
            continue
        if now is None:
            steps.append(Change(area, key, "create", 0, json_diff({}, value), value))
        elif now.deleted:
            steps.append(Change(area, key, "undelete", now.version, json_diff({}, value), value))
        else:
            action: Action = "unchanged" if json_equal(now.stored, value) else "update"
            steps.append(
                Change(area, key, action, now.version, json_diff(now.stored, value), value)
            )
    return steps
