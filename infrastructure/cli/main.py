"""Entry point of ``conduit-config``: global options, error handling, exit codes."""

from __future__ import annotations

import sys

import click

from domain.address import DEFAULT_ENVIRONMENT, InvalidAddressError, check_name
from domain.errors import (
    BrokenLogError,
    ConfigStoreError,
    InvalidValueError,
    NotFoundError,
    VersionConflictError,
)
from domain.parsing import MalformedInputError
from infrastructure.cli import (
    bulk,
    cluster,
    entries,
    environment,
    history,
    keys,
    log,
    meta,
    mirror,
    readmodels,
    repair,
    reveals,
    runtime,
    scheduled,
    serve,
    tokens,
)
from infrastructure.cli.state import CliState

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INVALID, EXIT_CONFLICT, EXIT_NOT_FOUND = 0, 1, 2, 3, 4, 5
#: An entry's own log is damaged (a missing version, an event that does not decode).
EXIT_BROKEN = 6


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env",
    "environment",
    default=DEFAULT_ENVIRONMENT,
    metavar="ENV",
    help="Environment to work in (default: default).",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="PostgreSQL URL (default: $CONDUIT_CONFIG_DATABASE_URL, else embedded).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.version_option(package_name="conduit-config")
@click.pass_context
def cli(ctx: click.Context, environment: str, database_url: str | None, as_json: bool) -> None:
    """Conduit Config: an event-sourced configuration store."""
    state = ctx.ensure_object(CliState)
    if ctx.get_parameter_source("environment") is not click.core.ParameterSource.DEFAULT:
        state.environment_given = True
    if state.environment == DEFAULT_ENVIRONMENT:
        state.environment = check_name("environment", environment)
    state.database_url = database_url
    state.as_json = state.as_json or as_json
    ctx.call_on_close(state.close)


for command in (
    *meta.COMMANDS,
    *entries.COMMANDS,
    *history.COMMANDS,
    *readmodels.COMMANDS,
    *environment.COMMANDS,
    *bulk.COMMANDS,
    *tokens.COMMANDS,
    *serve.COMMANDS,
    *runtime.COMMANDS,
    *scheduled.COMMANDS,
    *mirror.COMMANDS,
    *cluster.COMMANDS,
    *keys.COMMANDS,
    *repair.COMMANDS,
    *log.COMMANDS,
    *reveals.COMMANDS,
):
    cli.add_command(command)


_EXIT_CODES: tuple[tuple[type[ConfigStoreError], int], ...] = (
    (BrokenLogError, EXIT_BROKEN),
    (InvalidValueError, EXIT_INVALID),
    (VersionConflictError, EXIT_CONFLICT),
    (NotFoundError, EXIT_NOT_FOUND),
    (InvalidAddressError, EXIT_USAGE),
    (MalformedInputError, EXIT_USAGE),
)


def _exit_code(exc: ConfigStoreError) -> int:
    return next((code for kind, code in _EXIT_CODES if isinstance(exc, kind)), EXIT_ERROR)


def _report(exc: ConfigStoreError) -> None:
    if isinstance(exc, InvalidValueError):
        what = f"{exc.area} value" if exc.area else "value"
        click.echo(f"error: invalid {what}:", err=True)
        for problem in exc.errors:
            click.echo(f"  {problem}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)


def _undecodable(args: list[str]) -> str | None:
    """Where the first argument that is not valid UTF-8 is (Python keeps such bytes as
    lone surrogates, which no name, value or query can hold); the argument itself is
    not shown, it may be a secret."""
    for index, arg in enumerate(args):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            before = args[index - 1] if index else ""
            option = f" (after {before})" if before.startswith("-") and before.isascii() else ""
            return f"argument {index + 1}{option}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors never show a traceback."""
    where = _undecodable(sys.argv[1:] if argv is None else argv)
    if where is not None:
        click.echo(f"error: {where} is not valid UTF-8", err=True)
        return EXIT_USAGE
    try:
        code = cli.main(args=argv, prog_name="conduit-config", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except ConfigStoreError as exc:
        _report(exc)
        return _exit_code(exc)
    except Exception as exc:  # a bug, not a user error: say so briefly
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        return EXIT_ERROR
    return code if isinstance(code, int) else EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
