"""Commands that need no database: areas, schema, keygen."""

from __future__ import annotations

import click

from infrastructure.bootstrap import load_registry
from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table
from infrastructure.cli.state import get_state
from infrastructure.crypto import decode_key, generate_key, key_id
from infrastructure.presenters import area_json


@click.command("areas")
@common
def areas_cmd() -> None:
    """List the registered areas and their fields."""
    state = get_state()
    registry = load_registry(state.settings)
    listing = [area_json(model) for model in registry]
    if state.as_json:
        emit_json(listing)
        return
    rows = [
        (m.area_name, "yes" if m.singleton else "no", ", ".join(m.model_fields)) for m in registry
    ]
    emit_table(("AREA", "SINGLETON", "FIELDS"), rows)


@click.command("schema")
@click.argument("area")
@common
def schema_cmd(area: str) -> None:
    """Print the JSON Schema of AREA."""
    model = load_registry(get_state().settings).get(area)
    emit_json(model.model_json_schema())


@click.command("keygen")
@common
def keygen_cmd() -> None:
    """Print a new secret key for CONDUIT_CONFIG_SECRET_KEY (alone on stdout, so
    `$(conduit-config keygen)` is the key) and its id on stderr."""
    key = generate_key()
    kid = key_id(decode_key(key, source="keygen"))
    if get_state().as_json:
        emit_json({"key_id": kid, "key": key})
    else:
        click.echo(key)
        click.echo(f"key id: {kid}", err=True)


COMMANDS = (areas_cmd, schema_cmd, keygen_cmd)
