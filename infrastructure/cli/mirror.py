"""Commands over the Redis mirror: status and rebuild."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from domain.errors import SettingsError
from infrastructure.cli.options import common
from infrastructure.cli.output import emit_json, emit_table
from infrastructure.cli.state import CliState, get_state

if TYPE_CHECKING:
    from infrastructure.cluster.redis_mirror import RedisMirror


@contextmanager
def _opened(state: CliState) -> Iterator[RedisMirror]:
    """The configured mirror, closed afterwards. Raises :class:`SettingsError` when
    CONDUIT_CONFIG_REDIS_URL is unset or malformed (before any database is opened)."""
    from infrastructure.cluster.redis_mirror import open_mirror

    settings = state.settings
    if settings.redis_url is None:
        raise SettingsError("the Redis mirror is not configured: set CONDUIT_CONFIG_REDIS_URL")
    mirror = open_mirror(settings, state.store)
    assert mirror is not None  # the URL is set
    try:
        yield mirror
    finally:
        mirror.close()


@click.group("mirror")
def mirror_group() -> None:
    """The Redis mirror (enabled by CONDUIT_CONFIG_REDIS_URL): status and rebuild."""


@mirror_group.command("status")
@common
def status_cmd() -> None:
    """The mirror's position in Redis, the log head and the lag."""
    state = get_state()
    with _opened(state) as mirror:
        found = mirror.status()
        prefix = mirror.prefix
    if state.as_json:
        emit_json({**vars(found), "prefix": prefix})
        return
    emit_table(
        ("MIRROR", "PREFIX", "POSITION", "HEAD", "LAG"),
        [(found.name, prefix, found.position, found.head, found.lag)],
    )


@mirror_group.command("rebuild")
@common
def rebuild_cmd() -> None:
    """Delete every key of the mirror's prefix and mirror the whole log again."""
    state = get_state()
    started = time.perf_counter()
    with _opened(state) as mirror:
        count = mirror.rebuild()
        prefix = mirror.prefix
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "mirror": "redis",
        "prefix": prefix,
        "events": count,
        "seconds": round(seconds, 3),
    }
    if state.as_json:
        emit_json(result)
    else:
        rate = count / seconds if seconds > 0 else 0.0
        click.echo(
            f"rebuilt the Redis mirror {prefix}: {count} events in {seconds:.2f}s"
            f" ({rate:,.0f} events/s)"
        )


COMMANDS = (mirror_group,)
