"""``reveals``: who saw which secrets in plaintext, when, from where and through what."""

from __future__ import annotations

import click

from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, fmt_time
from infrastructure.cli.state import WholeNumber, get_state, parse_time
from infrastructure.store.reveals import RevealQuery, RevealRecord, reveal_log


@click.command("reveals")
@click.option("--actor", help="Only reveals by this token name (or CLI actor).")
@click.option("--since", metavar="TIMESTAMP", help="Revealed at or after.")
@click.option("--limit", type=WholeNumber(1, 10_000), default=50, show_default=True)
@click.option("--before", type=WholeNumber(minimum=1), help="Page: records before this id.")
@common
def reveals_cmd(actor: str | None, since: str | None, limit: int, before: int | None) -> None:
    """Recorded secret reveals, newest first (every environment unless --env is given)."""
    state = get_state()
    query = RevealQuery(
        environment=state.environment if state.environment_given else None,
        actor=actor,
        since=parse_time(since, name="--since") if since is not None else None,
        before=before,
        limit=limit,
    )
    records = reveal_log(state.store).query(query)
    if state.as_json:
        emit_json([record.to_json() for record in records])
        return
    _table(records)
    if len(records) == limit:
        click.echo(f"(more: --before {records[-1].id})", err=True)


def _table(records: list[RevealRecord]) -> None:
    rows = [
        (
            r.id,
            fmt_time(r.revealed_at),
            r.actor,
            r.role,
            f"{r.environment}/{r.area}/{r.key}",
            r.version,
            r.origin,
            r.via,
        )
        for r in records
    ]
    emit_table(("ID", "REVEALED_AT", "ACTOR", "ROLE", "ENTRY", "VERSION", "FROM", "VIA"), rows)


COMMANDS = (reveals_cmd,)
