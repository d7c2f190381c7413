"""Commands over projections and the schema: audit, projections, migrate."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import click

from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, fmt_time, summarize_ops
from infrastructure.cli.state import POSITION, WholeNumber, get_state, parse_time
from infrastructure.persistence.migrations import Migrator
from infrastructure.presenters import audit_json
from infrastructure.store.readmodels import AuditQuery
from projections.audit import AuditRow


@click.command("audit")
@click.option("--area", help="Only this area.")
@click.option("--key", help="Only this key.")
@click.option("--actor", help="Only changes by this actor.")
@click.option("--since", metavar="TIMESTAMP", help="Recorded at or after.")
@click.option("--until", metavar="TIMESTAMP", help="Recorded at or before.")
@click.option("--limit", type=WholeNumber(1, 10_000), default=50, show_default=True)
@click.option("--before", type=WholeNumber(minimum=1), help="Page: rows before this position.")
@click.option("--min-position", type=POSITION, help="Wait until this position.")
@common
def audit_cmd(
    area: str | None,
    key: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    before: int | None,
    min_position: int | None,
) -> None:
    """The audit trail of the environment, newest first (secrets redacted)."""
    state = get_state()
    query = AuditQuery(
        environment=state.environment,
        area=area,
        key=key,
        actor=actor,
        since=parse_time(since, name="--since") if since is not None else None,
        until=parse_time(until, name="--until") if until is not None else None,
        before=before,
        limit=limit,
    )
    rows = state.store.audit(query, min_position=min_position)
    emit_audit(rows, as_json=state.as_json)
    if not state.as_json and len(rows) == limit:
        click.echo(f"(more: --before {rows[-1].position})", err=True)


def emit_audit(rows: list[AuditRow], *, as_json: bool) -> None:
    """Audit rows as JSON or a table."""
    if as_json:
        emit_json([audit_json(row) for row in rows])
        return
    table = [
        (
            r.position,
            fmt_time(r.recorded_at),
            f"{r.area}/{r.key}",
            r.version,
            r.event,
            r.actor,
            r.source,
            r.reason or "",
            summarize_ops(r.changes),
        )
        for r in rows
    ]
    headers = (
        "POSITION",
        "RECORDED_AT",
        "ENTRY",
        "VERSION",
        "EVENT",
        "ACTOR",
        "SOURCE",
        "REASON",
        "CHANGES",
    )
    emit_table(headers, table)


@click.group("projections")
def projections_group() -> None:
    """Status, rebuild and the foreground runner of the projections."""


@projections_group.command("status")
@common
def status_cmd() -> None:
    """Per projection: its position, the log head and the lag."""
    state = get_state()
    found = state.store.projection_status()
    if state.as_json:
        emit_json([vars(s) for s in found])
        return
    emit_table(
        ("PROJECTION", "POSITION", "HEAD", "LAG"),
        [(s.name, s.position, s.head, s.lag) for s in found],
    )


@projections_group.command("rebuild")
@click.argument("name")
@common
def rebuild_cmd(name: str) -> None:
    """Drop projection NAME and replay the whole log into it."""
    state = get_state()
    started = time.perf_counter()
    count = state.store.rebuild_projection(name)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"projection": name, "events": count, "seconds": round(seconds, 3)}
    if state.as_json:
        emit_json(result)
    else:
        rate = count / seconds if seconds > 0 else 0.0
        click.echo(f"rebuilt {name}: {count} events in {seconds:.2f}s ({rate:,.0f} events/s)")


@projections_group.command("run")
def run_cmd() -> None:
    """Join the cluster as a projection worker until interrupted: while it is the
    leader it keeps every projection current and runs the scheduler."""
    from infrastructure.cluster.node import ClusterNode, ClusterOptions
    from infrastructure.cluster.redis_mirror import open_mirror

    state = get_state()
    store = state.store
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def applied() -> tuple[int, str | None]:
        return min(s.position for s in store.projection_status()), None

    mirror = open_mirror(state.settings, store)
    if mirror is not None:
        state.on_close(mirror.close)
    node = ClusterNode(
        store=store,
        options=ClusterOptions.from_settings(state.settings),
        kind="worker",
        applied=applied,
        mirror=mirror,
        on_role=lambda role: click.echo(f"projection worker is now {role}", err=True),
    )
    click.echo(f"projection worker {node.id} running; Ctrl-C stops", err=True)
    node.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


@click.command("migrate")
@click.option("--check", is_flag=True, help="Only report; exit 1 when migrations are pending.")
@common
def migrate_cmd(check: bool) -> None:
    """Apply pending migrations of our tables (idempotent)."""
    state = get_state()
    settings = state.settings
    url = state.database_url_for_migrate()
    migrator = Migrator(
        url=url, schema=settings.database_schema, connect_timeout=settings.connect_timeout
    )
    if check:
        pending = [m.version for m in migrator.pending()]
        if state.as_json:
            emit_json({"pending": pending})
        else:
            click.echo(f"pending migrations: {pending or 'none'}")
        if pending:
            raise click.exceptions.Exit(1)
        return
    applied = [m.version for m in migrator.apply()]
    if state.as_json:
        emit_json({"applied": applied, "latest": migrator.applied()[-1]})
    else:
        click.echo(f"applied migrations: {applied or 'none (up to date)'}")


COMMANDS = (audit_cmd, projections_group, migrate_cmd)
