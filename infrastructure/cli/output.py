"""Human and JSON output of the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
import orjson

from infrastructure.presenters import write_json
from infrastructure.store.views import WriteResult


def emit_json(data: Any) -> None:
    """Print JSON (indented, keys in insertion order)."""
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def fmt_time(moment: datetime | None) -> str:
    """Compact UTC timestamp for tables."""
    if moment is None:
        return "-"
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned table; the last column is never padded."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(items: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(items[:-1], widths, strict=False)]
        return "  ".join([*padded, items[-1]]).rstrip()

    click.echo(click.style(line(list(headers)), bold=True))
    for row in cells:
        click.echo(line(row))


def short(value: Any, limit: int = 60) -> str:
    """Compact JSON of a value, truncated."""
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:  # e.g. a value stored under older rules
        return f"(not shown: {exc})"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_ops(ops: Sequence[dict[str, Any]]) -> str:
    """One-line summary of RFC 6902 operations for tables."""
    parts = []
    for op in ops:
        kind, path = op.get("op", "?"), op.get("path", "")
        if kind in ("add", "replace"):
            parts.append(f"{path}={short(op.get('value'), 40)}")
        elif kind == "remove":
            parts.append(f"-{path}")
        else:
            parts.append(f"{kind} {op.get('from', '')}→{path}")
    return "; ".join(parts) if parts else "-"


_OP_STYLE = {"add": ("+", "green"), "remove": ("-", "red"), "replace": ("~", "yellow")}


def emit_ops(ops: Sequence[dict[str, Any]]) -> None:
    """Print RFC 6902 operations one per line, coloured on a terminal."""
    if not ops:
        click.echo("no differences")
        return
    for op in ops:
        mark, colour = _OP_STYLE.get(str(op.get("op")), ("*", "cyan"))
        text = f"{mark} {op.get('path', '')}"
        if "value" in op:
            text += f": {short(op['value'], 200)}"
        if "from" in op:
            text += f" (from {op['from']})"
        click.echo(click.style(text, fg=colour))


def emit_write(result: WriteResult, *, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    """Report a write."""
    if as_json:
        emit_json({**write_json(result), **(extra or {})})
        return
    what = "version" if result.changed else "unchanged at version"
    click.echo(f"{result.address}: {what} {result.version} (position {result.position})")
