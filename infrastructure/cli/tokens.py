"""API token commands: init, token create|list|revoke."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.auth import TOKEN_AREA, IssuedToken, TokenService
from infrastructure.cli.options import authored, common
from infrastructure.cli.output import emit_json, emit_table, fmt_time
from infrastructure.cli.readmodels import emit_audit
from infrastructure.cli.state import CliState, WholeNumber, get_state, parse_time
from infrastructure.presenters import json_ready
from infrastructure.store.readmodels import AuditQuery


def _tokens(state: CliState) -> TokenService:
    return TokenService(store=state.store, cache_seconds=state.settings.token_cache_seconds)


def _emit_issued(issued: IssuedToken, *, as_json: bool) -> None:
    if as_json:
        emit_json({"name": issued.name, "role": issued.role, "token": issued.token})
        return
    click.echo(f"token {issued.name!r} ({issued.role}), shown once; store it now:")
    click.echo(issued.token)


FIRST_ADMIN_FILE = "admin-token"


def save_admin_token(home: Path, token: str) -> Path:
    """Write ``token`` to ``home/admin-token``, readable by its owner only (mode 0600;
    an older file is replaced). Raises ``OSError``."""
    home.mkdir(parents=True, exist_ok=True)
    path = (home / FIRST_ADMIN_FILE).resolve()
    partial = path.with_name(f".{FIRST_ADMIN_FILE}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    partial.replace(path)
    return path


def announce_first_token(home: Path, issued: IssuedToken) -> None:
    """Tell where the first ``serve`` put its admin token. The token goes to a file, never
    to stderr, which is often a log file (``serve 2>> instance.log``)."""
    try:
        path = save_admin_token(home, issued.token)
    except OSError as exc:
        click.echo(
            f"warning: could not write the first admin token under {home} ({exc.strerror});"
            " it is not shown: create one with"
            " `conduit-config token create --name NAME --role admin`",
            err=True,
        )
        return
    click.echo(
        f"admin token written to {path} (mode 0600, shown nowhere else):"
        " store it somewhere safe, then delete the file",
        err=True,
    )


def console_address(host: str, port: int) -> str:
    """The console's URL for a server listening on ``host``:``port`` (a wildcard address
    is shown as this machine's loopback; port 0 is chosen at start-up)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/ui/" if port else f"http://{shown}:<port>/ui/"


@click.command("init")
@common
def init_cmd() -> None:
    """Prepare the store and create the first admin token (printed once) if it has none."""
    state = get_state()
    issued = _tokens(state).bootstrap(provenance=state.provenance(None, "init"))
    if issued is not None:
        _emit_issued(issued, as_json=state.as_json)
        if not state.as_json:
            click.echo(
                "console: `conduit-config serve`, then open"
                f" {console_address('127.0.0.1', 8080)} and sign in with this token",
                err=True,
            )
    elif state.as_json:
        emit_json({"name": None, "role": None, "token": None})
    else:
        click.echo("the store already has tokens; create more with `conduit-config token create`")


@click.group("token")
def token_group() -> None:
    """API tokens of the HTTP server (stored hashed; changes are audited)."""


@token_group.command("create")
@click.option("--name", required=True, help="Token name, recorded as the actor of its changes.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["reader", "service", "writer", "admin"]),
    help="Its role (service: reads its scope with secrets revealed, never writes).",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="ENV or ENV:AREA[,AREA] (ENV may be *); repeatable. Default: everything.",
)
@click.option("--expires", metavar="TIMESTAMP", help="Expiry time (ISO-8601).")
@click.option("--description", help="Free text.")
@authored
def create_cmd(
    name: str,
    role: str,
    scopes: tuple[str, ...],
    expires: str | None,
    description: str | None,
    actor: str | None,
    reason: str | None,
) -> None:
    """Create a token and print it once."""
    state = get_state()
    issued = _tokens(state).create(
        name,
        role=role,
        scopes=list(scopes),
        expires_at=_expiry(expires) if expires is not None else None,
        description=description,
        provenance=state.provenance(actor, reason),
    )
    _emit_issued(issued, as_json=state.as_json)


def _expiry(text: str) -> datetime:
    """``--expires``: a time in the future (a usage error, exit 2, otherwise)."""
    moment = parse_time(text, name="--expires")
    if moment <= datetime.now(UTC):
        raise click.BadParameter(f"{text!r} is not in the future", param_hint="--expires")
    return moment


@token_group.command("list")
@common
def list_cmd() -> None:
    """Live tokens (never their values)."""
    state = get_state()
    infos = _tokens(state).list()
    if state.as_json:
        emit_json([json_ready(vars(info)) for info in infos])
        return
    rows = [
        (i.name, i.role, ",".join(i.scopes) or "*", fmt_time(i.expires_at), i.updated_by)
        for i in infos
    ]
    emit_table(("NAME", "ROLE", "SCOPES", "EXPIRES", "BY"), rows)


@token_group.command("revoke")
@click.argument("name")
@authored
def revoke_cmd(name: str, actor: str | None, reason: str | None) -> None:
    """Revoke the token NAME (at once on this instance, within a second on others)."""
    state = get_state()
    result = _tokens(state).revoke(name, provenance=state.provenance(actor, reason))
    if state.as_json:
        emit_json({"name": name, "revoked": True, "position": result.position})
    else:
        click.echo(f"token {name!r} revoked (position {result.position})")


@token_group.command("audit")
@click.option("--limit", type=WholeNumber(1, 10_000), default=50, show_default=True)
@common
def audit_cmd(limit: int) -> None:
    """Who created and revoked which token, newest first."""
    state = get_state()
    query = AuditQuery(environment=SYSTEM_ENVIRONMENT, area=TOKEN_AREA, limit=limit)
    emit_audit(state.store.audit(query), as_json=state.as_json)


COMMANDS = (init_cmd, token_group)
