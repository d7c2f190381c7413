"""Whole-environment commands: export, diff-env, snapshot."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from domain.stored import EntryProblem
from infrastructure.cli.documents import FORMATS, dump_document
from infrastructure.cli.options import authored, common
from infrastructure.cli.output import emit_json, emit_table, fmt_time, short
from infrastructure.cli.plans import emit_changes
from infrastructure.cli.state import POSITION, get_state, one_point, parse_point
from infrastructure.presenters import problems_json, snapshot_json
from infrastructure.projection.checkpoints import CheckpointInfo

EXIT_INVALID = 3


@contextmanager
def own_warnings() -> Iterator[None]:
    """While inside, the store does not log the entries it leaves out: the command prints
    its own warning line for each (:func:`warn_problems`), not a second one."""
    loggers = [logging.getLogger(f"conduit_config.{name}") for name in ("store", "checkpoints")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def warn_problems(problems: Iterable[EntryProblem], what: str = "left out") -> None:
    """One stderr line per entry a command left out (or skipped), and why."""
    for problem in problems:
        click.echo(
            f"warning: {problem.entry} {what}: the stored value is not valid under the"
            f" current rules: {problem.reason}",
            err=True,
        )


@click.command("export")
@click.option("--as-of", metavar="TIMESTAMP", help="The environment as it was at this time.")
@click.option("--position", type=POSITION, help="...at this log position.")
@click.option("--snapshot", metavar="NAME", help="...in this named snapshot.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Default: from -o's suffix, else json."
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Keep secrets (encrypted: only a store with the same key can import them).",
)
@common
def export_cmd(
    as_of: str | None,
    position: int | None,
    snapshot: str | None,
    fmt: str | None,
    output: Path | None,
    include_secrets: bool,
) -> None:
    """The whole environment as one document of stored values (secrets redacted)."""
    state = get_state()
    point = one_point(
        {"--as-of": as_of, "--position": position, "--snapshot": snapshot}, required=False
    )
    with own_warnings():
        document = state.store.export(state.environment, point, include_secrets=include_secrets)
    text = dump_document(document.to_json(), fmt=fmt, path=output)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            output.write_text(text)
        except OSError as exc:
            raise click.FileError(str(output), exc.strerror) from None
        entries = sum(len(keyed) for keyed in document.entries.values())
        click.echo(
            f"exported {entries} entries at position {document.position} to {output}", err=True
        )
    if document.problems:
        # The document is written, but it is not the whole environment: say so loudly.
        warn_problems(document.problems)
        click.get_current_context().exit(EXIT_INVALID)


@click.command("diff-env")
@click.argument("before", metavar="FROM")
@click.argument("after", metavar="TO", default="now")
@common
def diff_env_cmd(before: str, after: str) -> None:
    """What changed in the environment between two points: a timestamp, a log position,
    a snapshot name or `now` (the default TO)."""
    state = get_state()
    with own_warnings():
        diff = state.store.diff_environment(
            state.environment, parse_point(before, name="FROM"), parse_point(after, name="TO")
        )
    warn_problems(diff.problems, "not compared")
    if state.as_json:
        emit_json([c.to_json() for c in diff.changes])
        return
    emit_changes(diff.changes, empty="no differences")


@click.group("snapshot")
def snapshot_group() -> None:
    """Named snapshots: an environment's state at a log position, kept by name."""


def _emit_infos(infos: list[CheckpointInfo]) -> None:
    state = get_state()
    if state.as_json:
        emit_json([snapshot_json(i) for i in infos])
        return
    emit_table(
        ("NAME", "POSITION", "RECORDED_AT", "ENTRIES", "CREATED_AT", "BY", "REASON"),
        [
            (
                i.name or "(automatic)",
                i.position,
                fmt_time(i.recorded_at),
                i.entry_count,
                fmt_time(i.created_at),
                i.created_by or "-",
                i.reason or "",
            )
            for i in infos
        ],
    )


@snapshot_group.command("create")
@click.argument("name")
@authored
def snapshot_create_cmd(name: str, reason: str | None, actor: str | None) -> None:
    """Name the environment's current state."""
    state = get_state()
    who = state.provenance(actor, reason).actor
    with own_warnings():
        info = state.store.create_snapshot(state.environment, name, actor=who, reason=reason)
    warn_problems(info.problems, "is left out of reads of the snapshot")
    if state.as_json:
        emit_json(snapshot_json(info))
    else:
        click.echo(f"snapshot {name}: {info.entry_count} entries at position {info.position}")


@snapshot_group.command("list")
@click.option("--all", "automatic", is_flag=True, help="Include automatic checkpoints.")
@common
def snapshot_list_cmd(automatic: bool) -> None:
    """Named snapshots of the environment, newest first."""
    state = get_state()
    _emit_infos(state.store.snapshots(state.environment, automatic=automatic))


@snapshot_group.command("show")
@click.argument("name")
@common
def snapshot_show_cmd(name: str) -> None:
    """One snapshot and the entries it holds (secrets redacted)."""
    state = get_state()
    info = state.store.snapshot(state.environment, name)
    with own_warnings():
        document = state.store.export(state.environment, info.position)
    warn_problems(document.problems)
    if state.as_json:
        shown = {**snapshot_json(info), "entries": document.entries}
        if document.problems:
            shown["problems"] = problems_json(document.problems)
        emit_json(shown)
        return
    _emit_infos([info])
    click.echo()
    emit_table(
        ("ENTRY", "STORED VALUE"),
        [
            (f"{area}/{key}", short(value, 200))
            for area, keyed in document.entries.items()
            for key, value in keyed.items()
        ],
    )


@snapshot_group.command("delete")
@click.argument("name")
@common
def snapshot_delete_cmd(name: str) -> None:
    """Forget a named snapshot (the log keeps everything)."""
    state = get_state()
    state.store.delete_snapshot(state.environment, name)
    if state.as_json:
        emit_json({"deleted": name})
    else:
        click.echo(f"snapshot {name} deleted")


COMMANDS = (export_cmd, diff_env_cmd, snapshot_group)
