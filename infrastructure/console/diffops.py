"""Rows for the console's diff tables from RFC 6902 operations and for a
whole-environment comparison (diff-env, promote/restore/apply previews), built on the
rows of :mod:`infrastructure.console.diffview`. Pure (no I/O); operations come redacted
(``********``); rows hold plain text that templates escape."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from domain.environment import Change
from domain.secret_views import parse_pointer
from infrastructure.console.diffview import (
    ABSENT,
    DiffRow,
    RowKind,
    compact,
    is_branch,
    item_at,
    member,
    printable,
)


def _dotted(pointer: Any) -> tuple[str, int]:
    """A JSON pointer as a dotted path and its depth (an invalid one as given)."""
    parts = parse_pointer(pointer)
    if parts is None:
        return printable(str(pointer)), 0
    return printable(".".join(str(p) for p in parts)), len(parts)


def _leaves(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The leaves of ``value`` with their parts, in document order (as
    :func:`~infrastructure.console.diffview.side_by_side` expands one side: a container
    with members is its members)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        parts, item = stack.pop()
        if not is_branch(item):
            yield parts, item
            continue
        members = list(item.items()) if isinstance(item, dict) else list(enumerate(item))
        stack.extend(((*parts, name), member) for name, member in reversed(members))


def _value_rows(
    path: str, depth: int, value: Any, kind: RowKind, old: Any = ABSENT
) -> list[DiffRow]:
    """Rows of a value an operation brings in: its leaves, all of ``kind``; ``old``: what
    the operation replaces (when known), each row's left the old item at its path."""
    rows = []
    for parts, leaf in _leaves(value):
        now = item_at(old, parts)
        left = None if now is ABSENT else compact(now)
        where = _rebased(path, printable(".".join(str(p) for p in parts)))
        rows.append(DiffRow(where, left, compact(leaf), kind, depth + len(parts)))
    return rows


def _removed_rows(path: str, depth: int, old: Any) -> list[DiffRow]:
    """Rows of a ``remove``: the removed value's leaves on the left when it is known."""
    if old is ABSENT:
        return [DiffRow(path, None, None, "removed", depth)]
    return [replace(r, left=r.right, right=None) for r in _value_rows(path, depth, old, "removed")]


def _rebased(base: str, path: str) -> str:
    return f"{base}.{path}" if base and path else base or path


def _op_rows(op: Any, before: Any) -> list[DiffRow]:
    if not isinstance(op, Mapping):
        return [DiffRow("", None, compact(op), "changed")]
    name = op.get("op")
    path, depth = _dotted(op.get("path"))
    old = _pointed(before, op.get("path"))
    if name == "test":
        return []
    if name in ("add", "replace"):  # an add's place held nothing before
        return _setting_rows(op, path, depth, old if name == "replace" else ABSENT)
    if name == "remove":
        return _removed_rows(path, depth, old)
    if name in ("move", "copy"):
        source, source_depth = _dotted(op.get("from"))
        verb = "moved" if name == "move" else "copied"
        rows = [DiffRow(path, None, f"({verb} from {source})", "added", depth)]
        if name == "move":
            rows.insert(0, DiffRow(source, None, None, "removed", source_depth))
        return rows
    return [DiffRow(path, None, compact(dict(op)), "changed", depth)]


def _setting_rows(op: Mapping[str, Any], path: str, depth: int, old: Any = ABSENT) -> list[DiffRow]:
    """Rows of an ``add`` or ``replace``: its value's leaves, or why it was left out."""
    kind: RowKind = "added" if op.get("op") == "add" else "changed"
    if "value" in op:
        return _value_rows(path, depth, op["value"], kind, old)
    left = None if old is ABSENT else compact(old)
    if "omitted" in op:
        return [DiffRow(path, left, f"(omitted: {op['omitted']})", kind, depth)]
    return [DiffRow(path, left, compact(dict(op)), "changed", depth)]


def ops_rows(ops: Iterable[Any], before: Any = ABSENT) -> list[DiffRow]:
    """Rows for RFC 6902 operations (already redacted), in order: ``add`` added,
    ``replace`` changed, ``remove`` removed, a value one row per leaf; ``move`` = source
    removed + target added, ``copy`` = target added, ``test`` nothing; a value left out
    (``omitted``) says why; anything else is one changed row holding the operation's
    text. ``before``: the value the operations apply to, redacted, when the caller
    knows it: a ``replace`` or ``remove`` row then shows on the left what is there now
    (else, and for every other operation, ``left`` is ``None``)."""
    return [row for op in ops for row in _op_rows(op, before)]


@dataclass(frozen=True, slots=True)
class EntryRows:
    """One entry's step in an environment comparison, with its operations' rows."""

    key: str
    action: str
    version: int
    rows: list[DiffRow]
    target_version: int | None = None


@dataclass(frozen=True, slots=True)
class AreaRows:
    """The entries of one area in an environment comparison, and a count per action."""

    area: str
    entries: list[EntryRows] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def env_rows(
    changes: Iterable[Change | Mapping[str, Any]],
    before: Mapping[tuple[str, str], Any] | None = None,
) -> list[AreaRows]:
    """Rows for a whole-environment comparison (diff-env, a promote/restore/apply
    preview): the :class:`~domain.environment.Change` steps, or their ``to_json``
    form, grouped by area in the order areas first appear. Their operations must be
    redacted already (as the store's previews and diffs return them). ``before``: the
    live entries' values the steps start from, ``{(area, key): value}``, redacted too
    (see :func:`ops_rows`). Raises ``KeyError`` for a mapping without ``area``,
    ``key`` or ``action``."""
    groups: dict[str, AreaRows] = {}
    known = before or {}
    for item in changes:
        data = item.to_json() if isinstance(item, Change) else item
        action = str(data["action"])
        group = groups.setdefault(str(data["area"]), AreaRows(str(data["area"])))
        now = known.get((str(data["area"]), str(data["key"])), ABSENT)
        rows = ops_rows(data.get("changes") or [], now)
        version, target = int(data.get("version", 0)), data.get("target_version")
        group.entries.append(EntryRows(str(data["key"]), action, version, rows, target))
        group.counts[action] = group.counts.get(action, 0) + 1
    return list(groups.values())


def _pointed(value: Any, pointer: Any) -> Any:
    """The item a JSON pointer names inside ``value`` (a list's member by its decimal
    index, as RFC 6901 writes it), ``ABSENT`` when there is none or it is no pointer."""
    parts = parse_pointer(pointer)
    if parts is None:
        return ABSENT
    for part in parts:
        text = str(part)
        if isinstance(value, list):
            if not (text.isascii() and text.isdigit()) or (text != "0" and text[0] == "0"):
                return ABSENT
            value = member(value, int(text))
        else:
            value = member(value, text)
    return value
