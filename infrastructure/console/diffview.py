"""Rows for the console's diff tables: two JSON values side by side, RFC 6902
operations, a whole-environment comparison. Pure (no I/O); values come redacted
(``********``); rows hold plain text that templates escape. Leaves compare by JSON type
(:func:`domain.values.json_equal`), so rows differ only inside what
:func:`domain.values.json_diff` changes. The walks are iterative and linear."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from domain.environment import Change
from domain.secret_views import Schema, parse_pointer, secret_places
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
    return _printable(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def _printable(text: str) -> str:
    """``text``, any lone surrogate (not encodable as UTF-8) as a ``\\u`` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _child(path: str, name: str | int) -> str:
    return f"{path}.{name}" if path else str(name)


def _is_branch(value: Any) -> bool:
    """A container with members: its rows are its members' rows."""
    return isinstance(value, dict | list) and bool(value)


def _get(value: Any, part: str | int) -> Any:
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
        return [(i, _get(left, i), _get(right, i)) for i in range(size)]
    lefts: dict[str, Any] = left if isinstance(left, dict) else {}
    rights: dict[str, Any] = right if isinstance(right, dict) else {}
    pairs: list[tuple[str | int, Any, Any]] = [
        (name, value, _get(rights, name)) for name, value in lefts.items()
    ]
    pairs.extend((name, ABSENT, value) for name, value in rights.items() if name not in lefts)
    return pairs


def _expands(old: Any, new: Any) -> bool:
    """Whether a pair's rows are its members' rows: objects or lists on both sides
    (``ABSENT`` fits either), with members on at least one."""
    sides = [value for value in (old, new) if value is not ABSENT]
    same = all(isinstance(v, dict) for v in sides) or all(isinstance(v, list) for v in sides)
    return same and (_is_branch(old) or _is_branch(new))


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
        elif _is_branch(old) or _is_branch(new):
            # Different kinds, one with members: the old one goes, the new one comes.
            stack.append((path, depth, ABSENT, new))
            stack.append((path, depth, old, ABSENT))
        else:
            yield _leaf_row(path, depth, old, new)


def _leaf_row(at: str, depth: int, old: Any, new: Any) -> DiffRow:
    path = _printable(at)
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


def _dotted(pointer: Any) -> tuple[str, int]:
    """A JSON pointer as a dotted path and its depth (an invalid one as given)."""
    parts = parse_pointer(pointer)
    if parts is None:
        return _printable(str(pointer)), 0
    return _printable(".".join(str(p) for p in parts)), len(parts)


def _leaves(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The leaves of ``value`` with their parts, in document order (as :func:`_walk`
    expands one side: a container with members is its members)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        parts, item = stack.pop()
        if not _is_branch(item):
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
        now = _at(old, parts)
        left = None if now is ABSENT else compact(now)
        where = _rebased(path, _printable(".".join(str(p) for p in parts)))
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
            value = _get(value, int(text))
        else:
            value = _get(value, text)
    return value


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    """The item at ``path`` inside ``value``, ``ABSENT`` when there is none."""
    for part in path:
        value = _get(value, part)
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
        if not json_equal(_at(left_sealed, place), _at(right_sealed, place))
    }
