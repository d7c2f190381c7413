"""Commands on the client runtime: ``watch`` (changes live) and ``get --effective``."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import click
import orjson

from domain.address import Address
from domain.areas.base import AreaModel
from domain.effective import effective
from domain.errors import NotFoundError
from domain.secret_views import redact
from domain.secrets import REDACTED, sealing_paths
from domain.values import json_diff, to_json
from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, summarize_ops
from infrastructure.cli.state import CliState, get_state

if TYPE_CHECKING:
    from infrastructure.client import LiveChange


def _plain(value: AreaModel | None) -> dict[str, Any]:
    """The value as JSON, secrets redacted (the client holds them revealed)."""
    if value is None:
        return {}
    data = to_json(value, sparse=False)
    # The schema's places too: a union member with a plain str at a secret place.
    for path in sealing_paths(value, data):
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = REDACTED
    return data


def change_json(change: LiveChange) -> dict[str, Any]:
    """A change as ``watch --json`` prints it (secrets redacted)."""
    return {
        "position": change.position,
        "area": change.area,
        "key": change.key,
        "version": change.version,
        "event": change.event,
        "changes": json_diff(_plain(change.old), _plain(change.new)),
    }


@click.command("watch")
@click.argument("area", required=False)
@click.option("--key", help="Only this key.")
@click.option("--count", type=click.IntRange(min=1), help="Exit after N changes.")
@common
def watch_cmd(area: str | None, key: str | None, count: int | None) -> None:
    """Print the environment's changes as they happen (Ctrl-C stops)."""
    from infrastructure.client import connect

    state = get_state()
    done = threading.Event()
    seen = 0

    def show(change: LiveChange) -> None:
        nonlocal seen
        if count is not None and seen >= count:
            return  # more changes may arrive before the main thread stops watching
        data = change_json(change)
        if state.as_json:
            click.echo(orjson.dumps(data).decode())
        else:
            ops = summarize_ops(data["changes"])
            where = f"{change.area}/{change.key}"
            click.echo(f"{change.position}  {where}  v{change.version}  {change.event}  {ops}")
        seen += 1
        if count is not None and seen >= count:
            done.set()

    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with (
        connect(state.environment, settings=state.settings, last_known_good=None) as client,
        client.on_change(show, area=area, key=key),
    ):
        click.echo(f"watching {state.environment} from position {client.position}", err=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def show_effective(state: CliState, addr: Address) -> None:
    """Print AREA/KEY after precedence (environment variables > store > defaults) with
    the source of each field; overrides come from this process's environment."""
    # here, like connect: importing the client package loads the whole client runtime
    from infrastructure.client.overrides import parse_overrides

    model = state.store.model_for(addr)
    entry = state.store.load(addr)
    stored = entry.value if entry is not None and not entry.deleted else {}
    overrides = parse_overrides(dict(os.environ), state.store.registry, {addr.area: [addr.key]})
    defined = any(o.area == addr.area and o.key == addr.key for o in overrides)
    if (entry is None or entry.deleted) and not (model.singleton or defined):
        what = "is deleted" if entry is not None else "not found"
        raise NotFoundError(f"{addr} {what} in environment {addr.environment!r}")
    limits = state.store.limits_for(addr.environment)
    result = effective(model, addr.key, stored, overrides, limits=limits)
    value = redact(to_json(result.value, sparse=False), model)
    if state.as_json:
        emit_json({"value": value, "sources": result.sources})
        return
    rows = [
        (name, orjson.dumps(_at(value, name)).decode(), source)
        for name, source in result.sources.items()
    ]
    emit_table(("FIELD", "VALUE", "SOURCE"), rows)


def _at(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


COMMANDS = (watch_cmd,)
