"""Strict parsing of what people type for a version, log position, time or entity tag,
shared by the CLI (arguments, options) and the HTTP API (queries, headers).

Numbers are ASCII digits only (``str.isdigit`` also accepts ``²`` and ``٣``, and
``int()`` accepts ``٣``, ``+3`` and ``1_0``) and at most :data:`MAX_INT64`, the largest
PostgreSQL ``bigint``. Times are ISO 8601; one without an offset is UTC, and every
time is returned in UTC, so a time that only exists in its own offset (year 9999 at
``-14:00``) is refused here instead of failing later. Every error is a
:class:`MalformedInputError` naming the parameter: HTTP answers 400, the CLI exit 2.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from domain.errors import ConfigStoreError

#: The largest version, position or cursor: what a PostgreSQL ``bigint`` holds.
MAX_INT64 = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+")
_ETAG = re.compile(r'(?:W/)?"([^"]*)"')
#: A snapshot's name: 1-100 letters, digits or ``_.-``, starting with a letter.
SNAPSHOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
_POINT_HINT = "give a time, a position, a snapshot name or now"
#: What ``If-Match: *`` parses to: any current representation.
ANY_VERSION = "*"
TIME_EXAMPLE = "e.g. 2026-01-31T12:00:00Z"


class MalformedInputError(ConfigStoreError):
    """A number, version, position, time or header in a request or on the command line
    is malformed or out of range; ``name`` is the parameter, ``problem`` what is wrong."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


def is_whole_number(text: str) -> bool:
    """True when ``text`` is ASCII digits only (no sign, space, underscore or other
    script's digits)."""
    return _DIGITS.fullmatch(text) is not None


def whole_number(text: str, *, name: str, minimum: int = 0) -> int:
    """``text`` as an integer from ``minimum`` to :data:`MAX_INT64`; raises
    :class:`MalformedInputError`."""
    if not is_whole_number(text):
        raise MalformedInputError(name, f"{_shown(text)} is not a whole number (digits 0-9)")
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(MAX_INT64)):  # and int() refuses 4300+ digits
        raise MalformedInputError(name, f"must be at most {MAX_INT64}")
    return bounded(int(significant), name=name, minimum=minimum)


def bounded(number: int, *, name: str, minimum: int = 0) -> int:
    """``number`` if it is from ``minimum`` to :data:`MAX_INT64`, else raise
    :class:`MalformedInputError`."""
    if number > MAX_INT64:
        raise MalformedInputError(name, f"must be at most {MAX_INT64}")
    if number < minimum:
        raise MalformedInputError(name, f"must be at least {minimum}")
    return number


def version(text: str, *, name: str) -> int:
    """An entry version: 1 is the first (version 0 would be before the entry existed)."""
    number = whole_number(text, name=name)
    if number == 0:
        raise MalformedInputError(name, "versions start at 1 (there is no version 0)")
    return number


def position(text: str, *, name: str) -> int:
    """A log position (0 is before the first event)."""
    return whole_number(text, name=name)


def moment(text: str, *, name: str, require_offset: bool = False) -> datetime:
    """An ISO-8601 time in UTC; one without an offset is taken as UTC unless
    ``require_offset``. Raises :class:`MalformedInputError`."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MalformedInputError(
            name, f"{_shown(text)} is not an ISO-8601 time ({TIME_EXAMPLE})"
        ) from None
    if require_offset and parsed.tzinfo is None:
        raise MalformedInputError(
            name, f"{_shown(text)} has no UTC offset (e.g. 2026-01-31T12:00:00Z or +02:00)"
        )
    return in_utc(parsed, name=name)


def in_utc(value: datetime, *, name: str) -> datetime:
    """``value`` converted to UTC (a naive one is taken as UTC); raises
    :class:`MalformedInputError` when the result is outside years 1 to 9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise MalformedInputError(
            name, f"{value.isoformat()} is outside years 1 to 9999 once converted to UTC"
        ) from None


def version_or_time(text: str, *, name: str) -> int | datetime:
    """A version (digits) or an ISO-8601 time."""
    if is_whole_number(text):
        return version(text, name=name)
    return moment(text, name=name)


def point(text: str, *, name: str) -> int | datetime | str | None:
    """A point of the log: ``now`` (``None``), a position (digits), an ISO-8601 time
    (anything else starting with a digit 0-9) or a snapshot name (:data:`SNAPSHOT_NAME`).
    Raises :class:`MalformedInputError` for anything else, such as ``-1``: no snapshot
    can have that name, so "not found" would mislead."""
    if text == "now":
        return None
    if is_whole_number(text):
        return position(text, name=name)
    if text[:1] in "0123456789" and text:
        return moment(text, name=name)
    if text[:1] == "-" and is_whole_number(text[1:]):
        raise MalformedInputError(name, f"a position cannot be negative; got {_shown(text)}")
    if not SNAPSHOT_NAME.fullmatch(text):
        raise MalformedInputError(name, f"{_POINT_HINT}; got {_shown(text)}")
    return text


def entity_tag(text: str, *, name: str = "If-Match") -> int | str:
    """The version an ``If-Match`` names: ``"3"`` or ``W/"3"`` (our ETags; ``"0"`` is
    "does not exist yet"), or :data:`ANY_VERSION` for ``*``. Raises
    :class:`MalformedInputError`."""
    text = text.strip()
    if text == ANY_VERSION:
        return ANY_VERSION
    found = _ETAG.fullmatch(text)
    tag = found.group(1) if found else text  # an unquoted 3 is accepted too
    if not is_whole_number(tag):
        raise MalformedInputError(
            name, f'must be * or a version as sent in ETag, e.g. "3"; got {_shown(text)}'
        )
    return whole_number(tag, name=name)


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short and with unprintable characters escaped."""
    cut = text if len(text) <= 60 else text[:57] + "..."
    return ascii(cut) if not cut.isprintable() else repr(cut)
