"""``repair``: rebuild what is derived from the log and re-establish damaged entries."""

from __future__ import annotations

import sys

import click

from domain.address import SYSTEM_ENVIRONMENT
from domain.areas.repair_run import RepairRun
from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table, fmt_time
from infrastructure.cli.readmodels import emit_audit
from infrastructure.cli.state import CliState, get_state
from infrastructure.store.chain import audit_key_of
from infrastructure.store.readmodels import AuditQuery
from infrastructure.store.repair import (
    RepairPlan,
    RepairReport,
    list_repairs,
    plan_repair,
    record_repair,
    run_repair,
)


@click.command("repair")
@click.option("--dry-run", is_flag=True, help="Only show what would be done; change nothing.")
@click.option("--all-envs", is_flag=True, help="Re-establish entries of every environment.")
@click.option("--reason", help="Why; recorded with the run and in each repair event.")
@click.option("--actor", help="Who repairs (default: $CONDUIT_CONFIG_ACTOR or OS user).")
@click.option("--yes", is_flag=True, help="Append repair events without asking.")
@click.option("--list", "listing", is_flag=True, help="List past repairs instead.")
@click.option(
    "--audit", "audited", is_flag=True, help="The runs' events in the audit trail instead."
)
@common
def repair_cmd(
    dry_run: bool,
    all_envs: bool,
    reason: str | None,
    actor: str | None,
    yes: bool,
    listing: bool,
    audited: bool,
) -> None:
    """Rebuild the event index, projections and checkpoints from the log, and re-establish
    each entry whose own log is damaged by appending one event (source repair). History
    is never edited; each run is recorded (see --list) and is an event of the log
    (_system:repair_run/ID, see --audit)."""
    state = get_state()
    if listing:
        _list(state)
        return
    if audited:
        _audit(state)
        return
    provenance = state.provenance(actor, reason, source="cli")
    plan = plan_repair(state.store, None if all_envs else state.environment)
    if dry_run:
        _emit(state, RepairReport(plan, dry_run=True))
        return
    if plan.appends and not yes:
        _confirm(state, plan)
    key = audit_key_of(state.settings)
    report = run_repair(state.store, plan, provenance, audit_key=key)
    report.mirror = _rebuild_mirror(state)
    record_repair(state.store, report, provenance)
    _emit(state, report)


def _confirm(state: CliState, plan: RepairPlan) -> None:
    """Ask on a terminal (after showing the plan); refuse otherwise (exit 2)."""
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"repair would append {len(plan.appends)} event(s): pass --yes to append them,"
            " or --dry-run to only see the plan"
        )
    if not state.as_json:
        _emit_plan(plan)
    click.confirm(f"append {len(plan.appends)} repair event(s)?", abort=True, err=True)


def _rebuild_mirror(state: CliState) -> int | None:
    """Rebuild the Redis mirror when one is configured; how many events it mirrored."""
    if state.settings.redis_url is None:
        return None
    from infrastructure.cluster.redis_mirror import open_mirror

    mirror = open_mirror(state.settings, state.store)
    if mirror is None:
        return None
    try:
        return mirror.rebuild()
    finally:
        mirror.close()


def _emit(state: CliState, report: RepairReport) -> None:
    if state.as_json:
        emit_json(report.to_json())
        return
    _emit_plan(report.plan)
    if report.dry_run:
        click.echo("dry run: nothing changed")
        return
    for done in report.appended:
        click.echo(f"appended {done.entry} version {done.version} (position {done.position})")
    rebuilt = ", ".join(f"{n} ({c} events)" for n, c in report.projections.items())
    click.echo(f"rebuilt projections {rebuilt}; {report.checkpoints} checkpoint(s) written")
    if report.mirror is not None:
        click.echo(f"rebuilt the Redis mirror ({report.mirror} events)")
    breaks = ", ".join(map(str, report.acknowledged)) or "none"
    click.echo(f"repair {report.repair_id} recorded; chain breaks acknowledged: {breaks}")
    if report.event is not None:
        click.echo(
            f"in the audit trail: {report.event['entry']} (position {report.event['position']})"
        )


def _emit_plan(plan: RepairPlan) -> None:
    scope = plan.environment or "all environments"
    click.echo(f"repair of {scope}:")
    click.echo(f"  event index: {len(plan.index)} row(s) to fix")
    for fix in plan.index:
        click.echo(f"    position {fix.position}: {fix.kind} ({fix.detail})")
    if not plan.entries:
        click.echo("  entries: no damaged entry")
    for entry in plan.entries:
        click.echo(f"  {entry.label}: {entry.damage} -> {entry.outcome}")
    for bad in plan.bad_snapshots:
        click.echo(f"  {bad.entry}: snapshot at version {bad.version} {bad.problem}: dropped")
    for env, first in sorted(plan.damaged_from.items()):
        click.echo(f"  checkpoints of {env}: automatic ones from position {first} recomputed")
    for snap in plan.snapshots:
        click.echo(
            f"  named snapshot {snap.environment}/{snap.name} (position {snap.position}) covers"
            f" damage from position {snap.damaged_from}: kept"
        )
    click.echo("  projections rebuilt: current, audit")


def _audit(state: CliState) -> None:
    """The ``repair_run`` events of the system environment, newest first."""
    query = AuditQuery(environment=SYSTEM_ENVIRONMENT, area=RepairRun.area_name)
    emit_audit(state.store.audit(query), as_json=state.as_json)


def _list(state: CliState) -> None:
    found = list_repairs(state.store)
    if state.as_json:
        emit_json(
            [
                {
                    **{k: v for k, v in vars(r).items() if k != "repaired_at"},
                    "repaired_at": r.repaired_at.isoformat(),
                }
                for r in found
            ]
        )
        return
    emit_table(
        ("ID", "REPAIRED_AT", "ACTOR", "SCOPE", "APPENDED", "BREAKS", "REASON"),
        [
            (
                r.id,
                fmt_time(r.repaired_at),
                r.actor,
                r.environment or "*",
                len(r.actions.get("appended", [])),
                len(r.acknowledged_breaks),
                r.reason or "",
            )
            for r in found
        ],
    )


COMMANDS = (repair_cmd,)
