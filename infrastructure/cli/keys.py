"""Secret key commands: ``rekey`` and ``keys list``."""

from __future__ import annotations

import click

from domain.errors import SecretKeyError
from domain.stored import EntryProblem
from infrastructure.cli.options import authored, common
from infrastructure.cli.output import emit_json, emit_table
from infrastructure.cli.state import get_state
from infrastructure.store.keys import KeyUsage, RekeyResult


@click.command("rekey")
@click.option(
    "--new-key",
    is_flag=True,
    help="This process's current key is new: record it as the store's key first"
    " (as CONDUIT_CONFIG_NEW_SECRET_KEY=true does).",
)
@click.option("--all-envs", is_flag=True, help="Every environment, not only --env.")
@click.option("--dry-run", is_flag=True, help="Only show what would be re-sealed.")
@authored
def rekey_cmd(
    new_key: bool, all_envs: bool, dry_run: bool, actor: str | None, reason: str | None
) -> None:
    """Re-seal every current secret not sealed with the current key (one atomic write
    per environment; the plaintext is unchanged, history stays as it is)."""
    state = get_state()
    store = state.store
    provenance = state.provenance(actor, reason, source="rekey")
    environments = store.secret_environments() if all_envs else [state.environment]
    results = [
        store.rekey(env, provenance=provenance, dry_run=dry_run, new_key=new_key)
        for env in environments
    ]
    current = store.keyring().current_id
    if state.as_json:
        emit_json({"key_id": current, "environments": [r.to_json() for r in results]})
    else:
        for result in results:
            _show(result, current)
    skipped = sum(len(r.skipped) for r in results)
    if skipped:
        raise SecretKeyError(
            f"{skipped} entr{'y' if skipped == 1 else 'ies'} hold a secret no key of this"
            " process opens and were left as they are: add the key each names to"
            " CONDUIT_CONFIG_RETIRED_SECRET_KEYS and run rekey again"
        )


def _show(rekeyed: RekeyResult, current: str) -> None:
    result = rekeyed.result
    _warn(result.environment, rekeyed.skipped)
    entries = len(result.changes)
    if not entries:
        # With secrets skipped (none opens), "every secret is sealed with it" would be false.
        done = "nothing to re-seal" if rekeyed.skipped else "every current secret is sealed"
        click.echo(f"{result.environment}: {done} with key {current}")
        return
    what = f"{rekeyed.secrets} secret(s) in {entries} entr{'y' if entries == 1 else 'ies'}"
    if result.applied:
        click.echo(
            f"{result.environment}: re-sealed {what} with key {current}"
            f" (position {result.base_position} -> {result.position})"
        )
    else:
        names = ", ".join(f"{c.area}/{c.key}" for c in result.changes)
        click.echo(
            f"{result.environment}: would re-seal {what} with key {current} ({names});"
            " nothing written"
        )


def _warn(environment: str, problems: list[EntryProblem]) -> None:
    for problem in problems:
        click.echo(f"warning: {environment}: {problem.entry}: {problem.reason}", err=True)


@click.group("keys")
def keys_group() -> None:
    """Secret keys: which the store knows and what they seal."""


@keys_group.command("list")
@click.option("--all-envs", is_flag=True, help="Count every environment, not only --env.")
@common
def list_cmd(all_envs: bool) -> None:
    """Key ids the store has recorded or this process holds, and how many current
    secrets each seals (``v1``: sealed before keys had ids)."""
    state = get_state()
    report = state.store.key_usage(None if all_envs else state.environment)
    if state.as_json:
        emit_json(report.to_json())
        return
    _warn(state.environment if not all_envs else "*", report.problems)
    emit_table(
        ("KEY ID", "STATE", "IN RING", "VALUES", "FIRST SEEN", "RECORDED BY"),
        [_row(usage) for usage in report.keys],
    )


def _state(usage: KeyUsage) -> str:
    record = usage.record
    if record is None:
        known = "not recorded"
    elif record.retired_at is not None:
        known = f"retired {record.retired_at.isoformat(timespec='seconds')}"
    else:
        known = "active"
    return f"current here, {known}" if usage.current else known


def _row(usage: KeyUsage) -> tuple[object, ...]:
    record = usage.record
    seen = record.first_seen.isoformat(timespec="seconds") if record else "-"
    return (
        usage.key_id,
        _state(usage),
        "yes" if usage.in_ring else "no",
        usage.values,
        seen,
        record.recorded_by if record else "-",
    )


COMMANDS = (rekey_cmd, keys_group)
