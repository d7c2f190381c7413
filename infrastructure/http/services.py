"""The app's services in one typed container: :func:`create_app` builds every one of them
before any route exists and keeps the container as ``app.state.services``; the API's
handlers and the console's pages (whose app shares the host's state) reach it through
:func:`services_of`, never through other attributes of ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from infrastructure.auth import TokenService
    from infrastructure.cluster.duties import Follower
    from infrastructure.cluster.node import ClusterNode
    from infrastructure.cluster.registry import InstanceRegistry
    from infrastructure.console.diagnostics_data import RecentErrors
    from infrastructure.console.security import ConsoleState
    from infrastructure.http.app import HttpOptions
    from infrastructure.http.background import Background
    from infrastructure.http.changes import ChangeFeed
    from infrastructure.http.metrics import Metrics
    from infrastructure.http.readcache import ReadCache
    from infrastructure.http.readiness import ReadinessCheck
    from infrastructure.settings import Settings
    from infrastructure.store import ConfigStore


@dataclass(frozen=True, eq=False)
class AppServices:
    """What the app's handlers use, all built when the app is. Only the threads of
    ``background`` (the read cache's follower, the cluster node) wait for the app to
    start; the node exists once they run (:attr:`node`)."""

    store: ConfigStore
    tokens: TokenService
    options: HttpOptions
    #: Wakes the change streams as the log moves.
    feed: ChangeFeed
    #: The cluster's instances, as ``GET /v1/cluster`` lists them.
    registry: InstanceRegistry
    #: Current entries read, until the log changes them; its follower runs once started.
    readcache: ReadCache
    #: The server's threads: started and stopped by the app's lifespan.
    background: Background
    metrics: Metrics
    #: ``/readyz``'s check, shared by concurrent probes.
    readiness: ReadinessCheck
    #: The console's sessions and sign-in throttle.
    console: ConsoleState
    #: The Redis mirror the leader runs (the console shows its status); ``None``: none.
    mirror: Follower | None = None
    #: The settings in effect, shown masked on the console's diagnostics (``serve``).
    settings: Settings | None = None
    #: The process's last warnings and errors, for the same page (``serve``).
    recent_errors: RecentErrors | None = None

    @property
    def node(self) -> ClusterNode | None:
        """This server's part in the cluster once it runs; ``None`` before, or when the
        server does not follow the log."""
        return self.background.node


def services_of(source: HTTPConnection | Starlette) -> AppServices:
    """The services of the app that serves a request (or of an app, or of the console
    mounted in it: it shares the host's state). Raises :class:`TypeError` for an app
    not built by ``create_app`` (a bug)."""
    app = source.app if isinstance(source, HTTPConnection) else source
    found = app.state.services
    if not isinstance(found, AppServices):
        raise TypeError(f"app.state.services is a {type(found).__name__}, not AppServices")
    return found
