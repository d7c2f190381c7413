"""``conduit-config log head``: the head of the log's tamper-evident chain."""

from __future__ import annotations

import click

from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json
from infrastructure.cli.state import get_state
from infrastructure.store.chain import head, head_json


@click.group("log")
def log_group() -> None:
    """The log's tamper-evident chain."""


@log_group.command("head")
@common
def head_cmd() -> None:
    """Print the chain's head as POSITION:HASH (record it where the database's
    administrators cannot write; `verify --against` checks the log still holds it)."""
    state = get_state()
    found = head(state.store)
    if state.as_json:
        emit_json(head_json(found))
        return
    if found is None:
        click.echo("no chained events yet: the chain starts with the next write", err=True)
        return
    click.echo(found.text)
    kind = f"keyed with audit key {found.key_id}" if found.keyed else "plain SHA-256"
    click.echo(f"position {found.position}, {kind}", err=True)


COMMANDS = (log_group,)
