"""Reading and writing environment documents as JSON or YAML."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import orjson
import yaml

from domain.errors import InvalidValueError

FORMATS = ("json", "yaml")
_YAML_SUFFIXES = (".yaml", ".yml")


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


def load_document(source: str, *, fmt: str | None) -> Any:
    """Parse a document from a file path or ``-`` (stdin).

    A file that cannot be read is a usage error (exit 2); text that is not valid JSON or
    YAML is an invalid value (exit 3).
    """
    path = None if source == "-" else Path(source)
    try:
        raw = sys.stdin.read() if path is None else path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise click.BadParameter(f"cannot read {source}: {reason}", param_hint="FILE") from None
    kind = _format_for(fmt, path)
    try:
        data = yaml.safe_load(raw) if kind == "yaml" else orjson.loads(raw)
    except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise InvalidValueError.single("document", f"not valid {kind.upper()} ({detail})") from None
    return _plain(data)


def _plain(value: Any) -> Any:
    """YAML timestamps back to ISO strings, so JSON and YAML documents mean the same."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
