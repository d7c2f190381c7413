"""``conduit-config serve``: the HTTP API on uvicorn."""

from __future__ import annotations

import click

from infrastructure.auth import TokenService
from infrastructure.cli.state import get_state
from infrastructure.cli.tokens import announce_first_token, console_address


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--shutdown-timeout",
    type=click.IntRange(0, 600),
    default=5,
    show_default=True,
    help="Seconds to let requests finish on SIGTERM; open change streams are then cut "
    "(their clients reconnect with Last-Event-ID) and requests still waiting for the "
    "database answer 503. The process exits at most 3 s later.",
)
def serve_cmd(host: str, port: int, log_level: str, shutdown_timeout: int) -> None:
    """Serve the HTTP API (docs at /docs). A store without tokens gets an admin token,
    written once to CONDUIT_CONFIG_HOME/admin-token (mode 0600), never printed."""
    import uvicorn

    from infrastructure.cluster.node import ClusterOptions
    from infrastructure.cluster.redis_mirror import open_mirror
    from infrastructure.console.diagnostics_data import install_recent_errors
    from infrastructure.http.app import HttpOptions, create_app
    from infrastructure.http.shutdown import ShutdownWatchdog, SignalledServer

    state = get_state()
    settings = state.settings
    tokens = TokenService(store=state.store, cache_seconds=settings.token_cache_seconds)
    issued = tokens.bootstrap(provenance=state.provenance(None, "first serve"))
    if issued is not None:
        announce_first_token(settings.home, issued)
    click.echo(f"console: {console_address(host, port)} (sign in with an API token)", err=True)
    mirror = open_mirror(settings, state.store)
    if mirror is not None:
        state.on_close(mirror.close)
    app = create_app(
        store=state.store,
        tokens=tokens,
        options=HttpOptions.from_settings(settings),
        cluster=ClusterOptions.from_settings(settings),
        mirror=mirror,
        # For the console's diagnostics page: the settings (shown masked) and the last
        # warnings and errors of this process.
        settings=settings,
        recent_errors=install_recent_errors(),
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=shutdown_timeout,
    )
    watchdog = ShutdownWatchdog(
        requests_seconds=shutdown_timeout,
        interrupt=lambda: state.store.app.interrupt("the server is shutting down"),
    )
    server = SignalledServer(config, on_exit=watchdog.start)
    server.run()
    if not server.started:
        raise click.ClickException(f"the server did not start on {host}:{port} (see above)")


COMMANDS = (serve_cmd,)
