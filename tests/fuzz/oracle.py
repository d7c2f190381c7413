"""What the fuzzers compare against (type-aware JSON equality, a strict JSON parser) and
how they describe a failing example."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from hypothesis import note
from hypothesis.errors import InvalidArgument

from domain.areas import AreaModel
from domain.errors import InvalidValueError
from domain.values import normalize


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON *and* of the same JSON types, recursively: ``true`` is not ``1``,
    ``1`` is not ``1.0``; numbers of one type compare by value (``-0.0`` equals ``0.0``),
    object member order does not matter. Works on values nested deeper than the recursion
    limit."""
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if a.keys() != b.keys():
                return False
            pending.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, float):
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                return False
        elif a != b:
            return False
    return True


class NotStrictJsonError(ValueError):
    """The text is not JSON a strict parser accepts without changing it."""


def _refuse_constant(name: str) -> Any:
    raise NotStrictJsonError(f"{name} is not JSON")


def strict_loads(data: bytes) -> Any:
    """Parse JSON text exactly: valid UTF-8 without BOM, no NaN/Infinity, integers kept
    exact (no float rounding), nesting within Python's limits. Lone surrogate escapes
    parse (to strings a valid value may not hold). Raises :class:`NotStrictJsonError`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotStrictJsonError(f"invalid UTF-8: {exc}") from None
    if text.startswith("\ufeff"):
        raise NotStrictJsonError("byte order mark")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise NotStrictJsonError(str(exc)[:200]) from None


def storable(value: Any) -> bool:
    """Whether ``value`` survives the store's own encoding (orjson) unchanged."""
    try:
        return same_json(orjson.loads(orjson.dumps(value)), value)
    except (orjson.JSONEncodeError, orjson.JSONDecodeError):
        return False


def remark(text: str) -> None:
    """A note printed with a failing example (nothing outside of one)."""
    with contextlib.suppress(InvalidArgument):
        note(text)


def shown(value: Any, limit: int = 600) -> str:
    """A short, printable description of a (possibly huge or deep) value."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deep to show>"
    if len(text) > limit:
        text = f"{text[: limit // 2]} ...({len(text)} chars)... {text[-limit // 2 :]}"
    return text


@contextmanager
def described(text: str) -> Iterator[None]:
    """Add ``text`` (what was being tried) to any exception raised inside."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(text)
        raise


def document_refused(document: dict[str, Any], areas: Iterable[type[AreaModel]]) -> bool:
    """Whether the domain refuses one of a document's entries (``areas``: the schemas)."""
    models = {model.area_name: model for model in areas}
    for area, keyed in document["entries"].items():
        for key, value in keyed.items():
            try:
                normalize(models[area], value, key=key)
            except InvalidValueError:
                return True
    return False
