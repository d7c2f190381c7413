"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from domain.address import check_name
from infrastructure.cli.documents import decode_text, parse_json, read_text
from infrastructure.cli.state import CliState, WholeNumber

F = TypeVar("F", bound=Callable[..., Any])


def _set_json(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        ctx.ensure_object(CliState).as_json = True
    return value


def _set_env(ctx: click.Context, _: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        state = ctx.ensure_object(CliState)
        state.environment = check_name("environment", value)
        state.environment_given = True
    return value


def common(func: F) -> F:
    """``--json`` and ``--env`` accepted after the command name too."""
    func = click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        is_eager=True,
        help="Machine-readable JSON output.",
    )(func)
    env_option = click.option(
        "--env",
        "env_name",
        metavar="ENV",
        expose_value=False,
        callback=_set_env,
        is_eager=True,
        help="Environment (default: default).",
    )
    return env_option(func)


def authored(func: F) -> F:
    """``--actor`` and ``--reason`` (plus the common options) of every change."""
    func = click.option(
        "--actor", help="Who makes the change (default: $CONDUIT_CONFIG_ACTOR or OS user)."
    )(func)
    func = click.option("--reason", help="Why; recorded in history and audit.")(func)
    return common(func)


def writer(func: F) -> F:
    """Options of every single-entry write command."""
    func = click.option(
        "--expected-version",
        type=WholeNumber(minimum=0),
        default=None,
        help="Fail with exit code 4 unless the entry is at this version (0: must not exist).",
    )(func)
    return authored(func)


def read_json_value(text: str, *, max_bytes: int, field: str = "value") -> Any:
    """JSON text, ``@file.json`` or ``-`` (stdin). A file that cannot be read is a usage
    error (exit 2); text over ``max_bytes``, not valid UTF-8 or not valid JSON is an
    invalid value (exit 3) naming ``field``, the same for a file as for stdin."""
    if text == "-":
        raw = read_text(None, max_bytes=max_bytes, field=field, hint=field)
    elif text.startswith("@"):
        raw = read_text(Path(text[1:]), max_bytes=max_bytes, field=field, hint=field)
    else:
        raw = decode_text(text.encode("utf-8", "surrogateescape"), max_bytes=max_bytes, field=field)
    return parse_json(raw, field=field)
