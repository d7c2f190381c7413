"""Bounds every configuration value keeps, whatever channel it came through.

One unbounded value would otherwise break every read of its environment: nesting
deeper than the JSON encoder allows, megabytes carried by every later read, an integer
or float the stored format cannot hold, a string PostgreSQL or UTF-8 cannot hold. The
check is one iterative walk, so no input depth can exhaust Python's stack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import FieldError, InvalidValueError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_ERRORS = 20  # a hostile value can be wrong everywhere; name the first few places
_SEGMENT_CHARS = 40  # of an object key quoted in a field path

# The settable range of each bound (settings use the same types).
# orjson refuses to encode or decode more than 254 levels: stay far below that.
DepthBound = Annotated[int, Field(ge=8, le=100)]
ValueBytesBound = Annotated[int, Field(ge=4096, le=64 * 1024 * 1024)]
StringCharsBound = Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)]
KeyCharsBound = Annotated[int, Field(ge=64, le=65_536)]
MembersBound = Annotated[int, Field(ge=100, le=1_000_000)]

Frame = tuple[Any, str, str, int]  # node, dotted path, top-level field, depth
_CONTAINERS = (Mapping, list, tuple)
_ESCAPED = re.compile(r'[\x00-\x1f"\\]')  # what JSON escapes (and NUL, which we refuse)


class ValueLimits(BaseModel):
    """Bounds of one stored value. Integers must fit signed 64 bits, floats be finite,
    strings and object keys be valid Unicode without NUL; these are not settable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_depth: DepthBound = Field(
        default=32,
        description="Deepest nesting of objects and lists (the value itself is level 1).",
    )
    max_value_bytes: ValueBytesBound = Field(
        default=262_144, description="Largest stored value, as compact UTF-8 JSON."
    )
    max_string_chars: StringCharsBound = Field(
        default=65_536,
        description="Longest string (characters), secrets once encrypted included.",
    )
    max_key_chars: KeyCharsBound = Field(default=256, description="Longest object key.")
    max_members: MembersBound = Field(
        default=10_000, description="Most members of one object, or items of one list."
    )

    def errors(self, value: Any) -> list[FieldError]:
        """Every place (up to :data:`MAX_ERRORS`) where ``value`` breaks a bound, as
        dotted paths (``metadata.a.0``; ``value`` for the value itself)."""
        return _Walk(self).run(value)

    def check(self, value: Any, *, area: str | None = None) -> None:
        """Raise :class:`InvalidValueError` naming each place ``value`` breaks a bound."""
        errors = self.errors(value)
        if errors:
            raise InvalidValueError(errors, area=area)

    def enclosing(self) -> ValueLimits:
        """Bounds of a value that holds another one (a scheduled change holds the value
        it will set): one level and a little room more."""
        return self.model_copy(
            update={
                "max_depth": self.max_depth + 1,
                "max_value_bytes": self.max_value_bytes + 16_384,
            }
        )


DEFAULT_LIMITS = ValueLimits()


class _Walk:
    """One pass over a value, counting its compact JSON size as it goes. Containers
    wait on a stack; scalars are checked as their container is, so the path of one is
    only spelled out when it is wrong."""

    def __init__(self, limits: ValueLimits) -> None:
        self.limits = limits
        self.size = 0
        self.found: list[FieldError] = []

    def run(self, value: Any) -> list[FieldError]:
        if not isinstance(value, _CONTAINERS):
            self._scalar(value, "", "")
            return self._over() or self.found
        stack: list[Frame] = [(value, "", "", 1)]
        while stack and len(self.found) < MAX_ERRORS:
            node, path, top, depth = stack.pop()
            stack.extend(reversed(self._container(node, path, top, depth)))
            if self._over(top):
                break
        return self.found[:MAX_ERRORS]

    def _over(self, top: str = "") -> list[FieldError]:
        if self.size <= self.limits.max_value_bytes:
            return []
        what = "makes the value" if top else "is"
        self._error(top, f"{what} over {self.limits.max_value_bytes} bytes (as JSON)")
        return self.found

    def _error(self, path: str, message: str) -> None:
        self.found.append(FieldError(path or "value", message))

    def _container(self, node: Any, path: str, top: str, depth: int) -> list[Frame]:
        """Check a container and its scalars; return its containers, to visit next."""
        if depth > self.limits.max_depth:
            self._error(path, f"is nested deeper than {self.limits.max_depth} levels")
            return []
        if len(node) > self.limits.max_members:
            self._error(path, f"has more than {self.limits.max_members} members")
            return []
        self.size += 2 + max(len(node) - 1, 0)  # brackets and commas
        keyed = isinstance(node, Mapping)
        children: list[Frame] = []
        for label, item in node.items() if keyed else enumerate(node):
            name = label if isinstance(label, str) else str(label)
            if keyed and not self._key(name, path):
                continue
            if isinstance(item, _CONTAINERS):
                where = _join(path, path_segment(name))
                children.append((item, where, top or where, depth + 1))
            else:
                self._scalar(item, path, name)
        return children

    def _scalar(self, node: Any, path: str, name: str) -> None:
        if isinstance(node, str):
            if len(node) > self.limits.max_string_chars:
                limit = self.limits.max_string_chars
                self._error(_join(path, path_segment(name)), f"is longer than {limit} characters")
                self.size += len(node)
            else:
                self._text(node, path, name, what="")
        elif isinstance(node, bool) or node is None:
            self.size += 4 if node is not False else 5
        elif isinstance(node, int):
            if INT64_MIN <= node <= INT64_MAX:
                self.size += len(str(node))
            else:
                where = _join(path, path_segment(name))
                self._error(where, "is outside the signed 64-bit integer range")
        elif isinstance(node, float):
            if math.isfinite(node):
                self.size += len(repr(node))
            else:
                where = _join(path, path_segment(name))
                self._error(where, "must be a finite number (not NaN or Infinity)")
        else:
            self.size += 2  # not JSON data: the schema decides what it becomes

    def _key(self, name: str, path: str) -> bool:
        """Count a member's key (and its colon); False when the key is refused."""
        if len(name) > self.limits.max_key_chars:
            limit = self.limits.max_key_chars
            where = _join(path, path_segment(name))
            self._error(where, f"key is longer than {limit} characters")
            return False
        self.size += 1
        return self._text(name, path, name, what="key ")

    def _text(self, text: str, path: str, name: str, *, what: str) -> bool:
        if text.isascii():
            size = len(text)
        else:
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                where = _join(path, path_segment(name))
                self._error(where, f"{what}is not valid Unicode (it holds a lone surrogate)")
                return False
        if _ESCAPED.search(text) is not None:
            if "\x00" in text:
                # PostgreSQL text cannot hold NUL: such a value would stop every projection.
                self._error(
                    _join(path, path_segment(name)), f"{what}must not contain NUL characters"
                )
                return False
            # Escapes are ASCII: the escaped length minus the characters is theirs.
            size += len(json.dumps(text, ensure_ascii=False)) - len(text) - 2
        self.size += size + 2  # and its quotes
        return True


def _join(path: str, segment: str) -> str:
    return f"{path}.{segment}" if path else segment


def path_segment(name: str) -> str:
    """An object key as it may appear in a field path: short, and encodable (a lone
    surrogate or NUL is shown escaped), so an error naming it can always be printed."""
    if len(name) <= _SEGMENT_CHARS and name.isascii() and "\x00" not in name:
        return name
    short = name if len(name) <= _SEGMENT_CHARS else name[:_SEGMENT_CHARS] + "…"
    readable = short.encode("utf-8", "backslashreplace").decode("utf-8")
    return readable.replace("\x00", "\\x00")
