"""History commands: history, diff, rollback."""

from __future__ import annotations

from typing import Any

import click

from infrastructure.cli.options import common, writer
from infrastructure.cli.output import (
    emit_json,
    emit_ops,
    emit_table,
    emit_write,
    fmt_time,
    summarize_ops,
)
from infrastructure.cli.state import VERSION, WholeNumber, get_state, parse_ref, parse_time
from infrastructure.cli.verify import verify_cmd
from infrastructure.presenters import history_json


@click.command("history")
@click.argument("address")
@click.option("--limit", type=WholeNumber(minimum=1), help="Only the last N versions.")
@common
def history_cmd(address: str, limit: int | None) -> None:
    """Every version of AREA/KEY, oldest first, with who, why and what changed."""
    state = get_state()
    addr = state.address(address)
    items = state.store.history(addr, limit=limit)

    def redact(ops: list[Any]) -> list[Any]:
        return state.store.redacted_ops(ops, addr.environment, addr.area)

    if state.as_json:
        emit_json([history_json(item, redact(item.changes)) for item in items])
        return
    rows = [
        (
            i.version,
            i.event,
            i.actor,
            fmt_time(i.recorded_at),
            i.position or "-",
            i.reason or "",
            summarize_ops(redact(i.changes)),
        )
        for i in items
    ]
    emit_table(("VERSION", "EVENT", "ACTOR", "RECORDED_AT", "POSITION", "REASON", "CHANGES"), rows)


@click.command("diff")
@click.argument("address")
@click.argument("from_ref", metavar="FROM")
@click.argument("to_ref", metavar="TO")
@click.option("--effective", is_flag=True, help="Compare complete values (defaults filled in).")
@common
def diff_cmd(address: str, from_ref: str, to_ref: str, effective: bool) -> None:
    """RFC 6902 changes of AREA/KEY between two versions (from 1) or ISO-8601 timestamps."""
    state = get_state()
    addr = state.address(address)
    ops = state.store.diff(
        addr,
        parse_ref(from_ref, name="FROM"),
        parse_ref(to_ref, name="TO"),
        effective=effective,
    )
    shown = state.store.redacted_ops(ops, addr.environment, addr.area)
    if state.as_json:
        emit_json(shown)
    else:
        emit_ops(shown)


@click.command("rollback")
@click.argument("address")
@click.option("--to-version", type=VERSION, help="Restore this version's value.")
@click.option("--to-time", metavar="TIMESTAMP", help="Restore the value current at this time.")
@writer
def rollback_cmd(
    address: str,
    to_version: int | None,
    to_time: str | None,
    expected_version: int | None,
    actor: str | None,
    reason: str | None,
) -> None:
    """Append a new version of AREA/KEY equal to an earlier one (history is kept);
    nothing is appended when it already holds that value ("unchanged", exit 0)."""
    if (to_version is None) == (to_time is None):
        raise click.UsageError("give exactly one of --to-version or --to-time")
    state = get_state()
    result = state.store.rollback(
        state.address(address),
        provenance=state.provenance(actor, reason),
        to_version=to_version,
        to_time=parse_time(to_time, name="--to-time") if to_time is not None else None,
        expected_version=expected_version,
    )
    emit_write(result, as_json=state.as_json)


COMMANDS = (history_cmd, diff_cmd, rollback_cmd, verify_cmd)
