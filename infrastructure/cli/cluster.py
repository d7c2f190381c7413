"""``conduit-config cluster status|check``: the instances sharing this database."""

from __future__ import annotations

import click

from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, fmt_time
from infrastructure.cli.state import Seconds, get_state
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.cluster.status import check_consistency, status_json


@click.group("cluster")
def cluster_group() -> None:
    """The instances (servers, projection workers) sharing this database."""


def _registry() -> InstanceRegistry:
    return InstanceRegistry(datastore=get_state().store.app.datastore)


@cluster_group.command("status")
@common
def status_cmd() -> None:
    """Every instance: role, applied position, lag behind the log, last heartbeat."""
    state = get_state()
    instances = _registry().instances(timeout_seconds=state.settings.instance_timeout_seconds)
    if state.as_json:
        emit_json(status_json(instances))
        return
    if not instances:
        click.echo("no instances are running (serve or projections run register one)")
        return
    emit_table(
        ("ID", "KIND", "ROLE", "POSITION", "LAG", "LAST_SEEN", "ALIVE"),
        [
            (i.id, i.kind, i.role, i.position, i.lag, fmt_time(i.last_seen), i.alive)
            for i in instances
        ],
    )
    leader = status_json(instances)["leader"]
    click.echo(f"leader: {leader or 'none alive'}", err=True)


@cluster_group.command("check")
@click.option(
    "--wait",
    type=Seconds(600),
    default=10.0,
    show_default=True,
    help="Seconds to wait for every instance to reach the log head before comparing.",
)
@common
def check_cmd(wait: float) -> None:
    """Compare every live server's state digest with the log's at its position; exit 1
    when one differs, or when no live server reports one."""
    state = get_state()
    report = check_consistency(
        state.store,
        _registry(),
        instance_timeout=state.settings.instance_timeout_seconds,
        wait_seconds=wait,
    )
    if state.as_json:
        emit_json(report.to_json())
    elif not report.instances:
        click.echo("nothing to check: no live server reports a state digest", err=True)
    else:
        emit_table(
            ("ID", "POSITION", "CONSISTENT"),
            [(c.id, c.position, "yes" if c.consistent else "NO") for c in report.instances],
        )
        common_at = report.common_position
        click.echo(
            f"all at position {common_at}" if common_at is not None else "positions differ",
            err=True,
        )
    if not report.consistent:
        raise click.exceptions.Exit(1)


COMMANDS = (cluster_group,)
