"""Reads behind the console's history, rollback and compare pages: an entry's versions
paged newest first, the side-by-side diff of two versions, what a rollback would make
of the entry. Everything goes through the store's own queries; values are redacted
before they leave this module (changed secrets are marked, never shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import parsing
from domain.address import Address
from domain.entry import ConfigEntry
from domain.parsing import MalformedInputError
from infrastructure.console.diffview import ABSENT, DiffRow, side_by_side
from infrastructure.console.editor_data import change_rows
from infrastructure.store import ConfigStore
from infrastructure.store.views import HistoryItem

#: Versions shown per page of a history.
PAGE_SIZE = 50


@dataclass(frozen=True)
class HistoryPage:
    """One page of an entry's versions, newest first; ``latest`` is the current version."""

    items: list[HistoryItem]
    latest: int
    page: int
    pages: int
    deleted: bool


@dataclass(frozen=True)
class VersionDiff:
    """Two versions of an entry side by side (redacted); ``deleted`` per side."""

    left: int
    right: int
    rows: list[DiffRow]
    left_deleted: bool = False
    right_deleted: bool = False

    @property
    def values_differ(self) -> bool:
        """True when some row is not unchanged."""
        return any(row.kind not in ("same", "folded") for row in self.rows)

    @property
    def differs(self) -> bool:
        """True when the stored values differ or one side is deleted and the other not
        (a deletion is not "the same stored value", even with equal rows)."""
        return self.values_differ or self.left_deleted != self.right_deleted

    @property
    def same_value_text(self) -> str:
        """What equal rows mean, said with the versions' deleted states."""
        left, right = self.left, self.right
        if self.left_deleted == self.right_deleted:
            both = "are both deleted, with the same last" if self.left_deleted else "hold the same"
            return f"Versions {left} and {right} {both} stored value."
        gone, live = (left, right) if self.left_deleted else (right, left)
        if live > gone:
            return (
                f"Version {gone} deleted the entry; version {live} brought it back "
                "(undeleted) with the value it had before."
            )
        return f"Version {gone} deleted the entry, which held the value of version {live}."


@dataclass(frozen=True)
class RollbackPlan:
    """What rolling ``address`` back to ``target`` would do: the diff from the current
    version to it; ``problem`` says why it cannot be done (nothing to do, a deleted state)."""

    address: Address
    current: int
    target: int
    diff: VersionDiff
    current_deleted: bool
    problem: str | None = None


def version_param(text: str | None, *, name: str, latest: int | None = None) -> int | None:
    """A version from a query or form field (``None``/empty: not given). Raises
    :class:`MalformedInputError` (400) for anything but digits from 1, and above
    ``latest`` when given."""
    if text is None or text == "":
        return None
    number = parsing.version(text, name=name)
    if latest is not None and number > latest:
        raise MalformedInputError(name, f"the entry has versions 1 to {latest}")
    return number


def page_param(text: str | None) -> int:
    """A page number (from 1; default 1); raises :class:`MalformedInputError`."""
    if text is None or text == "":
        return 1
    return parsing.whole_number(text, name="page", minimum=1)


def current_entry(store: ConfigStore, address: Address) -> ConfigEntry:
    """The entry now (deleted or not); raises :class:`NotFoundError`,
    :class:`BrokenLogError`, :class:`AreaNotFoundError`."""
    store.model_for(address)
    return store.require(address)


def history_page(store: ConfigStore, address: Address, page: int) -> HistoryPage:
    """Page ``page`` of the entry's versions (newest first). Raises
    :class:`MalformedInputError` for a page past the last, :class:`NotFoundError`,
    :class:`BrokenLogError`."""
    entry = current_entry(store, address)
    pages = max(1, -(-entry.version // PAGE_SIZE))
    if page > pages:
        raise MalformedInputError("page", f"the history has {pages} page(s)")
    items = store.history(address, limit=min(entry.version, page * PAGE_SIZE))
    newest_first = list(reversed(items))[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return HistoryPage(newest_first, entry.version, page, pages, entry.deleted)


def version_diff(store: ConfigStore, address: Address, left: int, right: int) -> VersionDiff:
    """The stored values at versions ``left`` and ``right`` side by side, secrets
    redacted and those whose sealed text differs marked changed. Raises
    :class:`NotFoundError` for a version the entry does not have, :class:`BrokenLogError`."""
    store.model_for(address)
    old, new = store.require(address, left), store.require(address, right)
    return _diff(store, address, old, new)


def _diff(store: ConfigStore, address: Address, old: ConfigEntry, new: ConfigEntry) -> VersionDiff:
    rows = change_rows(store, address, dict(old.value), dict(new.value))
    return VersionDiff(old.version, new.version, rows, old.deleted, new.deleted)


def _restore_diff(
    store: ConfigStore, address: Address, now: ConfigEntry, then: ConfigEntry
) -> VersionDiff:
    """The rollback of a deleted entry: it holds no value now (each field of ``then``
    is added, not "the same" as the value it was deleted with)."""
    env, area = address.environment, address.area
    rows = side_by_side(ABSENT, store.redacted(dict(then.value), env, area))
    return VersionDiff(now.version, then.version, rows, left_deleted=True)


def target_version(
    store: ConfigStore, address: Address, to_version: int | None, to_time: datetime | None
) -> int:
    """The version a rollback aims at: ``to_version``, or the one current at ``to_time``.
    Raises :class:`MalformedInputError` unless exactly one is given,
    :class:`NotFoundError` when the entry did not exist at that time."""
    if (to_version is None) == (to_time is None):
        raise MalformedInputError("to_version", "give a version or a time to roll back to")
    if to_version is not None:
        return to_version
    assert to_time is not None
    return store.version_at(address, to_time)


def rollback_plan(store: ConfigStore, address: Address, target: int) -> RollbackPlan:
    """What the entry becomes when rolled back to ``target`` (the diff from now), with
    the reason it cannot be when it cannot. Raises :class:`NotFoundError`,
    :class:`BrokenLogError`."""
    now = current_entry(store, address)
    if target > now.version:
        raise MalformedInputError("to_version", f"the entry has versions 1 to {now.version}")
    then = store.require(address, target)
    diff = (
        _restore_diff(store, address, now, then)
        if now.deleted
        else _diff(store, address, now, then)
    )
    problem = None
    if then.deleted:
        problem = f"Version {target} is a deleted state: roll back to a version with a value."
    elif not now.deleted and not diff.differs:
        problem = f"The entry already holds the value of version {target}: nothing to do."
    return RollbackPlan(address, now.version, target, diff, now.deleted, problem)
