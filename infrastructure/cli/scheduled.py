"""Scheduled changes: ``scheduled list|show|cancel``, and the ``--at`` time and output
that ``set``, ``patch`` and ``delete`` use to schedule one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from infrastructure.cli.options import authored, common
from infrastructure.cli.output import emit_json, emit_table, fmt_time, short
from infrastructure.cli.state import get_state, parse_time
from infrastructure.presenters import scheduled_json
from infrastructure.store.views import ScheduledView

AT_HELP = "Apply the change at this time (ISO-8601 with a UTC offset) instead of now."


def parse_at(text: str) -> datetime:
    """The ``--at`` time; a usage error when it is not ISO-8601 or has no UTC offset (a
    change must not apply at a time that depends on where it was typed)."""
    return parse_time(text, name="--at", require_offset=True)


def shown(view: ScheduledView) -> dict[str, Any]:
    """The change as JSON, its value's secrets redacted by the target area's schema."""
    change = view.change
    return scheduled_json(view, get_state().store.secret_schema(change.environment, change.area))


def emit_scheduled(
    view: ScheduledView, *, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Report a change just scheduled or cancelled."""
    if as_json:
        emit_json({**shown(view), **(extra or {})})
        return
    change = view.change
    if change.status == "pending":
        click.echo(
            f"scheduled {view.id} for {fmt_time(change.due_at)}:"
            f" {change.operation} {view.target} in {change.environment}"
        )
    else:
        click.echo(f"{view.id}: {change.status} ({change.result or '-'})")


@click.group("scheduled")
def scheduled_group() -> None:
    """Changes scheduled with --at: list, show and cancel them. The cluster leader
    applies each once when it is due."""


@scheduled_group.command("list")
@click.option(
    "--all", "include_done", is_flag=True, help="Also applied, cancelled and failed ones."
)
@click.option("--all-envs", is_flag=True, help="Of every environment, not only --env.")
@common
def list_cmd(include_done: bool, all_envs: bool) -> None:
    """Pending changes of the environment, by due time (secrets redacted)."""
    state = get_state()
    environment = None if all_envs else state.environment
    views = state.store.scheduled_changes(environment, include_done=include_done)
    if state.as_json:
        emit_json([shown(v) for v in views])
        return
    rows = [
        (
            v.id,
            fmt_time(v.change.due_at),
            v.change.status,
            v.change.environment,
            str(v.target),
            v.change.operation,
            v.change.requested_by,
            v.change.result or "-",
        )
        for v in views
    ]
    emit_table(("ID", "DUE", "STATUS", "ENV", "ENTRY", "OP", "BY", "RESULT"), rows)


@scheduled_group.command("show")
@click.argument("schedule_id", metavar="ID")
@common
def show_cmd(schedule_id: str) -> None:
    """One scheduled change with its value (secrets redacted)."""
    state = get_state()
    environment = state.environment if state.environment_given else None
    view = state.store.scheduled(schedule_id, environment=environment)
    data = shown(view)
    if state.as_json:
        emit_json(data)
        return
    for name, item in data.items():
        click.echo(f"{name}: {'-' if item is None else short(item, 200)}")


@scheduled_group.command("cancel")
@click.argument("schedule_id", metavar="ID")
@authored
def cancel_cmd(schedule_id: str, actor: str | None, reason: str | None) -> None:
    """Cancel the pending change ID: it will never apply (exit 5 if there is none,
    1 if it is no longer pending)."""
    state = get_state()
    environment = state.environment if state.environment_given else None
    view = state.store.cancel_scheduled(
        schedule_id, provenance=state.provenance(actor, reason), environment=environment
    )
    emit_scheduled(view, as_json=state.as_json)


COMMANDS = (scheduled_group,)
