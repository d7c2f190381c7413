"""Entry commands: set, patch, get, list, delete, undelete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from domain.address import Address
from domain.areas.virtual_key import generate_virtual_key, hash_virtual_key
from domain.entry import Provenance
from infrastructure.cli.environment import own_warnings, warn_problems
from infrastructure.cli.options import common, read_json_value, writer
from infrastructure.cli.output import emit_json, emit_table, emit_write, fmt_time
from infrastructure.cli.reveals import reveal_for_cli
from infrastructure.cli.runtime import show_effective
from infrastructure.cli.scheduled import AT_HELP, emit_scheduled, parse_at
from infrastructure.cli.state import VERSION, get_state, parse_time
from infrastructure.presenters import entry_json


@click.command("set")
@click.argument("address")
@click.argument("value", required=False)
@click.option(
    "--generate-key",
    is_flag=True,
    help="virtual_key: create a condt_ key, print it once, store its hash.",
)
@click.option("--at", "at", metavar="TIMESTAMP", help=AT_HELP)
@writer
def set_cmd(
    address: str,
    value: str | None,
    generate_key: bool,
    at: str | None,
    expected_version: int | None,
    actor: str | None,
    reason: str | None,
) -> None:
    """Replace the stored fields of AREA/KEY with VALUE (JSON, @file.json or -)."""
    state = get_state()
    addr = state.address(address)
    due = parse_at(at) if at is not None else None
    if value is None and not generate_key:
        raise click.UsageError("VALUE is required (JSON text, @file.json or -)")
    limit = state.settings.max_document_bytes
    data: Any = read_json_value(value, max_bytes=limit) if value is not None else {}
    extra: dict[str, Any] = {}
    if generate_key:
        data, plaintext = _with_generated_key(addr.area, data)
        extra["key"] = plaintext
    who = state.provenance(actor, reason)
    _write_now_or_at("set", addr, data, due, who, expected_version, extra=extra)
    if generate_key and not state.as_json:
        click.echo(f"virtual key (shown once, store it now): {extra['key']}")


#: The CLI works on the database itself, with the store's secret key: whoever runs it
#: can reveal every secret (``get --reveal``). So, as for an admin token, a plaintext
#: secret equal to the stored one keeps its ciphertext (answers "unchanged").
CLI_MAY_REVEAL = True


def _write_now_or_at(
    operation: str,
    address: Address,
    data: Any,
    due: datetime | None,
    who: Provenance,
    expected_version: int | None,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write now (``set``, ``patch`` or ``delete``), or schedule it when ``due`` is set."""
    store, as_json = get_state().store, get_state().as_json
    if due is not None:
        view = store.schedule_change(
            address,
            operation,
            data,
            due_at=due,
            provenance=who,
            expected_version=expected_version,
            may_reveal=CLI_MAY_REVEAL,
        )
        emit_scheduled(view, as_json=as_json, extra=extra)
        return
    args: tuple[Any, ...] = () if operation == "delete" else (data,)
    reveal = {} if operation == "delete" else {"may_reveal": CLI_MAY_REVEAL}
    write = getattr(store, operation)
    result = write(address, *args, provenance=who, expected_version=expected_version, **reveal)
    emit_write(result, as_json=as_json, extra=extra)


def _with_generated_key(area: str, data: Any) -> tuple[Any, str]:
    if area != "virtual_key":
        raise click.UsageError("--generate-key only applies to virtual_key entries")
    if not isinstance(data, dict):
        return data, ""
    if "key_hash" in data:
        raise click.UsageError("give either key_hash in VALUE or --generate-key, not both")
    plaintext = generate_virtual_key()
    return {**data, "key_hash": hash_virtual_key(plaintext)}, plaintext


@click.command("patch")
@click.argument("address")
@click.argument("merge_patch")
@click.option("--at", "at", metavar="TIMESTAMP", help=AT_HELP)
@writer
def patch_cmd(
    address: str,
    merge_patch: str,
    at: str | None,
    expected_version: int | None,
    actor: str | None,
    reason: str | None,
) -> None:
    """Merge an RFC 7396 MERGE_PATCH into AREA/KEY; null returns a field to its default."""
    state = get_state()
    addr = state.address(address)
    due = parse_at(at) if at is not None else None
    limit = state.settings.max_document_bytes
    data = read_json_value(merge_patch, max_bytes=limit, field="patch")
    who = state.provenance(actor, reason)
    _write_now_or_at("patch", addr, data, due, who, expected_version)


@click.command("get")
@click.argument("address")
@click.option("--version", type=VERSION, help="Read this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP", help="Read the value current at this time.")
@click.option("--reveal", is_flag=True, help="Show secrets in plaintext (recorded).")
@click.option("--stored", is_flag=True, help="Show only the stored fields (no defaults).")
@click.option(
    "--effective",
    is_flag=True,
    help="Apply CONDUIT__AREA__[KEY__]FIELD overrides; show each field's source.",
)
@common
def get_cmd(
    address: str,
    version: int | None,
    as_of: str | None,
    reveal: bool,
    stored: bool,
    effective: bool,
) -> None:
    """Show the value of AREA/KEY (now, at a version, or as of a time)."""
    state = get_state()
    if effective:
        if version is not None or as_of is not None or stored or reveal:
            raise click.UsageError("--effective shows the current value only")
        show_effective(state, state.address(address))
        return
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    moment = parse_time(as_of, name="--as-of") if as_of is not None else None
    addr = state.address(address)
    view = state.store.get(addr, version=version, as_of=moment)
    value = view.stored if stored else view.value
    shown = (
        reveal_for_cli(state, addr, view.version, value)
        if reveal
        else state.store.redacted(value, addr.environment, addr.area)
    )
    if state.as_json:
        emit_json(entry_json(view, shown))
        return
    click.echo(
        click.style(f"{view.address}", bold=True)
        + f"  env={view.address.environment} version={view.version}"
        + f" recorded_at={fmt_time(view.recorded_at)} actor={view.actor}"
    )
    emit_json(shown)


@click.command("list")
@click.argument("area", required=False)
@common
def list_cmd(area: str | None) -> None:
    """List the current entries of the environment (optionally of one AREA)."""
    state = get_state()
    with own_warnings():
        listing = state.store.listing(state.environment, area)
    warn_problems(listing.problems)
    views = listing.items
    if state.as_json:
        emit_json(
            [
                entry_json(v, state.store.redacted(v.value, state.environment, v.address.area))
                for v in views
            ]
        )
        return
    rows = [
        (v.address.area, v.address.key, v.version, fmt_time(v.recorded_at), v.actor) for v in views
    ]
    emit_table(("AREA", "KEY", "VERSION", "UPDATED", "ACTOR"), rows)


def _lifecycle_command(name: str, help_text: str) -> click.Command:
    """A write command of one entry with no value (``undelete``): one store method."""

    @click.command(name, help=help_text)
    @click.argument("address")
    @writer
    def command(
        address: str, expected_version: int | None, actor: str | None, reason: str | None
    ) -> None:
        state = get_state()
        method = getattr(state.store, name)
        result = method(
            state.address(address),
            provenance=state.provenance(actor, reason),
            expected_version=expected_version,
        )
        emit_write(result, as_json=state.as_json)

    return command


@click.command("delete")
@click.argument("address")
@click.option("--at", "at", metavar="TIMESTAMP", help=AT_HELP)
@writer
def delete_cmd(
    address: str,
    at: str | None,
    expected_version: int | None,
    actor: str | None,
    reason: str | None,
) -> None:
    """Delete AREA/KEY (history is kept; undelete restores it)."""
    state = get_state()
    addr = state.address(address)
    due = parse_at(at) if at is not None else None
    who = state.provenance(actor, reason)
    _write_now_or_at("delete", addr, None, due, who, expected_version)


undelete_cmd = _lifecycle_command("undelete", "Restore a deleted AREA/KEY with its last value.")


COMMANDS = (set_cmd, patch_cmd, get_cmd, list_cmd, delete_cmd, undelete_cmd)
