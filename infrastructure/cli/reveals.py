"""``reveals``: who saw which secrets in plaintext, when, from where and through what."""

from __future__ import annotations

import getpass
from typing import Any

import click

from domain.address import Address
from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, fmt_time
from infrastructure.cli.state import CliState, WholeNumber, get_state, parse_time
from infrastructure.store.reveals import (
    CLI_ROLE,
    VIA_GET,
    Revealed,
    Revealer,
    RevealQuery,
    RevealRecord,
    reveal_log,
)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def reveal_for_cli(state: CliState, address: Address, version: int, value: Any) -> Any:
    """``value`` (a version of ``address``) with its secrets in plaintext, the reveal
    recorded first when it has any (actor: the CLI's actor setting or the OS user, from
    ``cli:OS_USER``). Raises :class:`StorageError` when the record cannot be written."""
    shown = state.store.revealed(value, address.environment, address.area)
    if shown != value:  # a secret was opened: this is a reveal
        user = _os_user()
        who = Revealer(
            actor=state.settings.actor or user, role=CLI_ROLE, origin=f"cli:{user}", via=VIA_GET
        )
        entry = Revealed(address.environment, address.area, address.key, version)
        reveal_log(state.store).record(who, [entry])
    return shown


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
