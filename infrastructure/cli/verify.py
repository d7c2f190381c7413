"""``verify``: prove the log end to end (entries, index, snapshots, chain)."""

from __future__ import annotations

import click

from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json
from infrastructure.cli.state import get_state
from infrastructure.store.chain import ChainHead, audit_key_of
from infrastructure.store.verify import VerifyReport
from infrastructure.store.verify_runs import note_verify_run


@click.command("verify")
@click.option("--all-envs", is_flag=True, help="Check every environment, not just --env.")
@click.option(
    "--against",
    metavar="POSITION:HASH",
    help="A head printed earlier by `log head`: it must still be a link of the chain.",
)
@common
def verify_cmd(all_envs: bool, against: str | None) -> None:
    """Check the log: versions 1..N of every entry, each event's decoding and value hash,
    the event index and the current read model against the events, snapshots, and the
    tamper-evident chain. Entries whose log is broken are quarantined (reads refuse them
    until `repair`). Exit 1 when anything is wrong."""
    state = get_state()
    head = ChainHead.parse(against, name="--against") if against is not None else None
    report = state.store.verify(
        None if all_envs else state.environment,
        audit_key=audit_key_of(state.settings),
        against=head,
    )
    actor = state.provenance(None, None).actor
    where = None if all_envs else state.environment
    note_verify_run(state.store, report, actor=actor, source="cli", environment=where)
    if state.as_json:
        emit_json(report.to_json())
    else:
        _emit_text(report)
    if report.findings:
        raise click.exceptions.Exit(1)


def _emit_text(report: VerifyReport) -> None:
    for f in report.findings:
        version = f"v{f.version}" if f.version is not None else "-"
        where = f" @{f.position}" if f.position is not None else ""
        click.echo(f"PROBLEM {f.entry} {version}{where}: {f.problem}", err=True)
    for f, repair_id in report.acknowledged:
        click.echo(f"ACKNOWLEDGED @{f.position} by repair {repair_id}: {f.problem}")
    for name in report.quarantined:
        click.echo(f"QUARANTINED {name} (reads refuse it until `conduit-config repair`)", err=True)
    for r in report.retired_keys:
        key = r.key_id or "enc:v1 (no key id)"
        click.echo(f"RETIRED-KEY {r.entry} {r.field}: sealed under {key}")
    click.echo(report.chain_text())
    click.echo(
        f"checked {report.entries} entries, {report.events} events, "
        f"{report.snapshots} snapshots: {len(report.findings)} problem(s)"
    )
