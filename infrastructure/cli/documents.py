"""Reading and writing environment documents as JSON or YAML, and bounded reads of text
given as a file or on stdin."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
import orjson
import yaml
from yaml.composer import ComposerError

from domain.errors import InvalidValueError

FORMATS = ("json", "yaml")
_YAML_SUFFIXES = (".yaml", ".yml")
# Deeper than any value may nest (plus the document's own levels), far below the
# depth at which PyYAML's recursive composer would exhaust Python's stack.
MAX_YAML_DEPTH = 128


class _SafeLoader(yaml.SafeLoader):
    """The safe loader without aliases (so a short text cannot expand into gigabytes,
    the "billion laughs") and with bounded nesting."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._refuse("aliases (*name) are not allowed")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _refuse(self, problem: str) -> NoReturn:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        raise ComposerError(None, None, f"line {mark.line + 1}: {problem}", mark)


def _format_for(fmt: str | None, path: Path | None) -> str:
    if fmt is not None:
        return fmt
    return "yaml" if path is not None and path.suffix.lower() in _YAML_SUFFIXES else "json"


def dump_document(data: Any, *, fmt: str | None, path: Path | None = None) -> str:
    """``data`` as JSON (indented) or YAML text, chosen by ``fmt`` or the file suffix."""
    if _format_for(fmt, path) == "yaml":
        text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return text
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def read_text(path: Path | None, *, max_bytes: int, field: str, hint: str) -> str:
    """The UTF-8 text of a file (``None``: stdin), reading at most ``max_bytes`` + 1.

    A file that cannot be read is a usage error (exit 2, ``hint`` names the argument);
    text over ``max_bytes`` or not valid UTF-8 is an invalid ``field`` (exit 3).
    """
    try:
        if path is None:
            raw = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with path.open("rb") as file:
                raw = file.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = "stdin" if path is None else str(path)
        raise click.BadParameter(f"cannot read {where}: {reason}", param_hint=hint) from None
    return decode_text(raw, max_bytes=max_bytes, field=field)


def decode_text(raw: bytes, *, max_bytes: int, field: str) -> str:
    """``raw`` as text; raises :class:`InvalidValueError` naming ``field`` when it is
    over ``max_bytes`` (``CONDUIT_CONFIG_MAX_DOCUMENT_BYTES``) or not valid UTF-8."""
    if len(raw) > max_bytes:
        raise InvalidValueError.single(
            field, f"is over {max_bytes} bytes (CONDUIT_CONFIG_MAX_DOCUMENT_BYTES)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidValueError.single(
            field, f"is not valid UTF-8 (byte {exc.start} cannot be decoded)"
        ) from None


def load_document(source: str, *, fmt: str | None, max_bytes: int) -> Any:
    """Parse a document from a file path or ``-`` (stdin).

    A file that cannot be read is a usage error (exit 2); text over ``max_bytes``, not
    valid UTF-8, not valid JSON or YAML, or YAML using aliases is an invalid value
    (exit 3) naming ``document``.
    """
    path = None if source == "-" else Path(source)
    raw = read_text(path, max_bytes=max_bytes, field="document", hint="FILE")
    kind = _format_for(fmt, path)
    if kind == "json":
        return parse_json(raw, field="document")
    try:
        data = yaml.load(raw, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # ValueError: YAML scalars Python cannot build (a 5000-digit int, 2024-13-45).
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidValueError.single("document", f"not valid YAML ({detail})") from None
    return _plain(data)


def parse_json(text: str, *, field: str) -> Any:
    """Strict JSON (RFC 8259: no ``NaN``/``Infinity``) with integers kept exact, as the
    HTTP API reads it, so the value rules see the same value whatever the channel (a
    faster parser would turn 2**64 into a float). Raises :class:`InvalidValueError`
    naming ``field``."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except _ConstantError as exc:
        problem = f"{exc.args[0]} is not a JSON number"
    except RecursionError:
        problem = "nested too deeply"
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        problem = str(exc)
    raise InvalidValueError.single(field, f"not valid JSON ({problem})")


class _ConstantError(ValueError):
    pass


def _no_constant(name: str) -> NoReturn:
    raise _ConstantError(name)


def _plain(value: Any) -> Any:
    """YAML timestamps back to ISO strings, so JSON and YAML documents mean the same."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
