"""Showing multi-entry changes: plans, apply/restore results, environment diffs."""

from __future__ import annotations

import click

from domain.environment import Change
from infrastructure.cli.output import emit_json, emit_table, summarize_ops
from infrastructure.presenters import bulk_json
from infrastructure.store.bulk import BulkResult


def emit_changes(changes: list[Change], *, empty: str) -> None:
    """A table of changes, one entry per row (unchanged entries left out)."""
    rows = [
        (c.action, f"{c.area}/{c.key}", c.version or "-", summarize_ops(c.changes))
        for c in changes
        if c.action != "unchanged"
    ]
    if not rows:
        click.echo(empty)
        return
    emit_table(("ACTION", "ENTRY", "VERSION", "CHANGES"), rows)


def emit_result(result: BulkResult, *, as_json: bool, verb: str) -> None:
    """Report a multi-entry command; ``verb`` says what it did (or would do)."""
    if as_json:
        emit_json(bulk_json(result))
        return
    count = len(result.changes)
    emit_changes(result.changes, empty=f"{result.environment}: nothing to change")
    if not count:
        return
    if result.applied:
        click.echo(
            f"{verb} {count} change(s) to {result.environment} atomically"
            f" (position {result.base_position} -> {result.position})"
        )
    else:
        click.echo(
            f"plan: {count} change(s) to {result.environment} at position"
            f" {result.base_position}; nothing written"
        )
