"""Multi-entry commands: plan, apply, restore, promote (atomic, all or nothing)."""

from __future__ import annotations

import click

from domain.address import DEFAULT_ENVIRONMENT, check_name
from domain.document import parse_document
from infrastructure.cli.documents import FORMATS, load_document
from infrastructure.cli.entries import CLI_MAY_REVEAL
from infrastructure.cli.environment import own_warnings, warn_problems
from infrastructure.cli.options import authored, common
from infrastructure.cli.plans import emit_result
from infrastructure.cli.state import POSITION, CliState, get_state, one_point
from infrastructure.store.bulk import BulkResult
from infrastructure.store.environment import PointRef

_FILE = click.argument("file", metavar="FILE")
_PRUNE = click.option("--prune", is_flag=True, help="Also delete live entries not in FILE.")
_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Default: from FILE's suffix, else json."
)
_DRY_RUN = click.option("--dry-run", is_flag=True, help="Only show the plan; write nothing.")
_NOT_IN_FILE = "is not in FILE (its export left it out) and is left alone"


def _apply_file(
    state: CliState,
    file: str,
    fmt: str | None,
    *,
    prune: bool,
    dry_run: bool,
    expected_position: int | None = None,
    actor: str | None = None,
    reason: str | None = None,
) -> BulkResult:
    """Apply (or plan) a document file; its target is --env if given, else the
    document's environment."""
    text = load_document(file, fmt=fmt, max_bytes=state.settings.max_document_bytes)
    document = parse_document(text)
    environment = (
        state.environment
        if state.environment_given
        else check_name("environment", document.environment or DEFAULT_ENVIRONMENT)
    )
    return state.store.apply_document(
        document,
        environment=environment,
        provenance=state.provenance(actor, reason, source="import"),
        prune=prune,
        expected_position=expected_position,
        dry_run=dry_run,
        may_reveal=CLI_MAY_REVEAL,
    )


@click.command("plan")
@_FILE
@_PRUNE
@_FORMAT
@common
def plan_cmd(file: str, prune: bool, fmt: str | None) -> None:
    """What applying FILE (an `export` document; `-` reads stdin) would change."""
    state = get_state()
    result = _apply_file(state, file, fmt, prune=prune, dry_run=True)
    warn_problems(result.skipped, _NOT_IN_FILE)
    emit_result(result, as_json=state.as_json, verb="would apply")
    if result.changes and not state.as_json:
        click.echo(f"apply it with: --expected-position {result.base_position}", err=True)


@click.command("apply")
@_FILE
@_PRUNE
@_FORMAT
@click.option(
    "--expected-position",
    type=POSITION,
    help="Fail with exit code 4 if the environment changed after this log position.",
)
@_DRY_RUN
@authored
def apply_cmd(
    file: str,
    prune: bool,
    fmt: str | None,
    expected_position: int | None,
    dry_run: bool,
    actor: str | None,
    reason: str | None,
) -> None:
    """Make the environment hold FILE's entries, atomically; applying it again changes
    nothing. Any invalid entry: exit 3, every bad field listed, nothing written."""
    state = get_state()
    result = _apply_file(
        state,
        file,
        fmt,
        prune=prune,
        dry_run=dry_run,
        expected_position=expected_position,
        actor=actor,
        reason=reason,
    )
    warn_problems(result.skipped, _NOT_IN_FILE)
    emit_result(result, as_json=state.as_json, verb="applied")


def _required_point(
    to_time: str | None, to_position: int | None, to_snapshot: str | None
) -> PointRef:
    options = {"--to-time": to_time, "--to-position": to_position, "--to-snapshot": to_snapshot}
    point = one_point(options, required=True)
    assert point is not None
    return point


@click.command("restore")
@click.option("--to-time", metavar="TIMESTAMP", help="Restore the state at this time.")
@click.option("--to-position", type=POSITION, help="...at this log position.")
@click.option("--to-snapshot", metavar="NAME", help="...of this named snapshot.")
@_DRY_RUN
@authored
def restore_cmd(
    to_time: str | None,
    to_position: int | None,
    to_snapshot: str | None,
    dry_run: bool,
    actor: str | None,
    reason: str | None,
) -> None:
    """Make the environment equal to an earlier point by appending compensating events
    atomically (entries created since are deleted, deleted ones come back, changed ones
    roll back). History is never rewritten."""
    state = get_state()
    result = state.store.restore(
        state.environment,
        _required_point(to_time, to_position, to_snapshot),
        provenance=state.provenance(actor, reason, source="restore"),
        dry_run=dry_run,
    )
    emit_result(result, as_json=state.as_json, verb="restored")


@click.command("promote")
@click.option("--from", "source", required=True, metavar="ENV", help="Copy from this env.")
@click.option("--to", "target", required=True, metavar="ENV", help="Into this env.")
@_PRUNE
@_DRY_RUN
@authored
def promote_cmd(
    source: str,
    target: str,
    prune: bool,
    dry_run: bool,
    actor: str | None,
    reason: str | None,
) -> None:
    """Apply one environment's current entries to another, atomically."""
    state = get_state()
    if source == target:
        raise click.UsageError("--from and --to name the same environment")
    with own_warnings():
        result = state.store.promote(
            check_name("environment", source),
            check_name("environment", target),
            provenance=state.provenance(actor, reason, source="promote"),
            prune=prune,
            dry_run=dry_run,
        )
    warn_problems(result.skipped, "not promoted (the target's entry is left alone)")
    emit_result(result, as_json=state.as_json, verb="promoted")


COMMANDS = (plan_cmd, apply_cmd, restore_cmd, promote_cmd)
