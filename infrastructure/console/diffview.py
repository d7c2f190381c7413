"""Rows for the console's diff tables comparing two JSON values side by side, and the
row type and JSON helpers :mod:`infrastructure.console.diffops` (operations, whole
environments) builds on. Pure (no I/O); values come redacted (``********``); rows hold
plain text that templates escape. Leaves compare by JSON type
(:func:`domain.values.json_equal`), so rows differ only inside what
:func:`domain.values.json_diff` changes. The walks are iterative and linear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from domain.secret_views import Schema, secret_places
from domain.secrets import REDACTED
from domain.values import json_equal

RowKind = Literal["same", "changed", "added", "removed", "folded"]
DEFAULT_CONTEXT = 3


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of a diff table: ``path`` dotted (``keys.0.enabled``; ``""``: the whole
    value), ``depth`` its number of parts; ``left``/``right`` compact JSON, ``None`` where
    that side has nothing (absent, or unknown from operations). A ``folded`` row stands
    for ``folded`` unchanged rows from ``path`` on."""

    path: str
    left: str | None
    right: str | None
    kind: RowKind
    depth: int = 0
    folded: int = 0


class _Absent:
    """The type of :data:`ABSENT`: a side with no value at a path (not ``null``)."""


ABSENT: Any = _Absent()


def compact(value: Any) -> str:
    """A leaf as compact JSON text (Unicode kept as it is, never ``\\u`` escaped)."""
    return printable(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def printable(text: str) -> str:
    """``text``, any lone surrogate (not encodable as UTF-8) as a ``\\u`` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _child(path: str, name: str | int) -> str:
    return f"{path}.{name}" if path else str(name)


def is_branch(value: Any) -> bool:
    """A container with members: its rows are its members' rows."""
    return isinstance(value, dict | list) and bool(value)


def member(value: Any, part: str | int) -> Any:
    """The member ``part`` of ``value``, ``ABSENT`` when there is none."""
    if isinstance(value, dict):
        return value.get(part, ABSENT)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return ABSENT


def _members(left: Any, right: Any) -> list[tuple[str | int, Any, Any]]:
    """Pairs of members of two branches of the same kind (or one branch and ABSENT):
    objects by name (left's order, then names only on the right), lists by index."""
    if isinstance(left, list) or isinstance(right, list):
        size = max(len(v) if isinstance(v, list) else 0 for v in (left, right))
        return [(i, member(left, i), member(right, i)) for i in range(size)]
    lefts: dict[str, Any] = left if isinstance(left, dict) else {}
    rights: dict[str, Any] = right if isinstance(right, dict) else {}
    pairs: list[tuple[str | int, Any, Any]] = [
        (name, value, member(rights, name)) for name, value in lefts.items()
    ]
    pairs.extend((name, ABSENT, value) for name, value in rights.items() if name not in lefts)
    return pairs


def _expands(old: Any, new: Any) -> bool:
    """Whether a pair's rows are its members' rows: objects or lists on both sides
    (``ABSENT`` fits either), with members on at least one."""
    sides = [value for value in (old, new) if value is not ABSENT]
    same = all(isinstance(v, dict) for v in sides) or all(isinstance(v, list) for v in sides)
    return same and (is_branch(old) or is_branch(new))


def _walk(left: Any, right: Any) -> Iterator[DiffRow]:
    """Leaf rows of two values, in document order (an explicit stack: no recursion)."""
    stack: list[tuple[str, int, Any, Any]] = [("", 0, left, right)]
    while stack:
        path, depth, old, new = stack.pop()
        if old is ABSENT and new is ABSENT:
            continue
        if _expands(old, new):
            pairs = _members(old, new)
            stack.extend((_child(path, n), depth + 1, a, b) for n, a, b in reversed(pairs))
        elif is_branch(old) or is_branch(new):
            # Different kinds, one with members: the old one goes, the new one comes.
            stack.append((path, depth, ABSENT, new))
            stack.append((path, depth, old, ABSENT))
        else:
            yield _leaf_row(path, depth, old, new)


def _leaf_row(at: str, depth: int, old: Any, new: Any) -> DiffRow:
    path = printable(at)
    left = None if old is ABSENT else compact(old)
    right = None if new is ABSENT else compact(new)
    if left is None:
        return DiffRow(path, None, right, "added", depth)
    if right is None:
        return DiffRow(path, left, None, "removed", depth)
    kind: RowKind = "same" if json_equal(old, new) else "changed"
    return DiffRow(path, left, right, kind, depth)


def _masked(row: DiffRow) -> DiffRow:
    """A secret's row: whatever text the caller passed, only ``********`` is shown."""
    left = None if row.left is None else REDACTED
    right = None if row.right is None else REDACTED
    kind: RowKind = "changed" if row.kind == "same" else row.kind
    return replace(row, left=left, right=right, kind=kind)


def side_by_side(
    left: Any,
    right: Any,
    *,
    changed_secrets: set[str] | None = None,
    context: int | None = DEFAULT_CONTEXT,
) -> list[DiffRow]:
    """Rows comparing two JSON values (``ABSENT`` for a side that does not exist).

    Objects are compared member by member, lists item by item (extra items added or
    removed), anything else as a leaf by JSON type. ``changed_secrets``: dotted paths
    of secrets the caller knows differ (redacted text compares equal); their rows are
    changed and show ``********`` on both sides. Runs of unchanged rows are folded
    (see :func:`fold`) unless ``context`` is ``None``."""
    secrets = changed_secrets or set()
    rows = [_masked(r) if r.path in secrets else r for r in _walk(left, right)]
    return rows if context is None else fold(rows, context=context)


def fold(rows: list[DiffRow], *, context: int = DEFAULT_CONTEXT) -> list[DiffRow]:
    """Replace each run of unchanged rows by one ``folded`` row, keeping ``context``
    rows next to each change (a run hiding fewer than two rows is kept whole)."""
    result: list[DiffRow] = []
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end].kind == "same":
            end += 1
        if end == start:
            result.append(rows[start])
            start += 1
            continue
        result.extend(_folded_run(rows[start:end], start > 0, end < len(rows), context))
        start = end
    return result


def _folded_run(run: list[DiffRow], after: bool, before: bool, context: int) -> list[DiffRow]:
    """One run of unchanged rows; ``after``/``before``: a change precedes/follows it."""
    head = max(context, 0) if after else 0
    tail = max(context, 0) if before else 0
    hidden = len(run) - head - tail
    if hidden < 2:
        return run
    first = run[head]
    marker = DiffRow(first.path, None, None, "folded", first.depth, folded=hidden)
    return [*run[:head], marker, *run[len(run) - tail :]]


def item_at(value: Any, path: tuple[str | int, ...]) -> Any:
    """The item at ``path`` inside ``value``, ``ABSENT`` when there is none."""
    for part in path:
        value = member(value, part)
    return value


def changed_secret_paths(left_sealed: Any, right_sealed: Any, model: Schema) -> set[str]:
    """Dotted paths of the secrets whose sealed text differs between two stored values
    (still sealed) of an area with schema ``model``: what :func:`side_by_side` takes as
    ``changed_secrets`` once the values are redacted. A secret sealed anew counts as
    changed even if its plaintext is the same (the ciphertexts cannot tell)."""
    places = {*secret_places(model, left_sealed), *secret_places(model, right_sealed)}
    return {
        ".".join(str(p) for p in place)
        for place in places
        if not json_equal(item_at(left_sealed, place), item_at(right_sealed, place))
    }
