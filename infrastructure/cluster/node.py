"""One instance's membership of the cluster: it competes for leadership, runs the
leader's duties while it leads, and reports a heartbeat with its applied position."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.errors import ConfigStoreError
from infrastructure.cluster.duties import DutyOptions, Follower, LeaderDuties
from infrastructure.cluster.leader import LeaderElection
from infrastructure.cluster.registry import Beat, InstanceRegistry
from infrastructure.options import from_setting, options_from
from infrastructure.persistence.errors import storage_errors
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore

log = logging.getLogger("conduit_config.cluster")


@dataclass(frozen=True)
class ClusterOptions:
    """Election and heartbeat timing, and the leader's duties; from settings
    (:meth:`from_settings`), each default being the setting's default."""

    leader_poll_seconds: float = from_setting("leader_poll_seconds")
    leader_timeout_seconds: int = from_setting("leader_timeout_seconds")
    heartbeat_seconds: float = from_setting("heartbeat_seconds")
    duties: DutyOptions = field(default_factory=DutyOptions)
    #: Seconds the election's connection waits to connect.
    connect_timeout: int = from_setting("connect_timeout")

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterOptions:
        """Election, heartbeat and leader-job timing from settings."""
        return options_from(cls, settings, duties=DutyOptions.from_settings(settings))


class ClusterNode:
    """This process as a cluster instance.

    ``applied`` gives the log position the instance has applied and the digest of
    its state there (read together, so they match); ``kind`` is ``serve`` or ``worker``.
    """

    def __init__(
        self,
        *,
        store: ConfigStore,
        options: ClusterOptions,
        kind: str,
        applied: Callable[[], tuple[int, str | None]],
        mirror: Follower | None = None,
        on_role: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}-{self.pid}-{secrets.token_hex(2)}"
        self._store = store
        self._options = options
        self._kind = kind
        self._applied = applied
        self._on_role = on_role
        self.registry = InstanceRegistry(datastore=store.app.datastore)
        self.duties = LeaderDuties(
            store=store,
            registry=self.registry,
            options=options.duties,
            mirror=mirror,
            on_stalled=self._stalled,
        )
        self._election = LeaderElection(
            url=store.database_url,
            schema=store.app.datastore.schema,
            name=self.id,
            poll_seconds=options.leader_poll_seconds,
            timeout_seconds=options.leader_timeout_seconds,
            on_elected=self._elected,
            on_demoted=self._demoted,
            connect_timeout=options.connect_timeout,
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)

    @property
    def role(self) -> str:
        """``leader`` or ``follower``."""
        return "leader" if self._election.is_leader else "follower"

    def start(self) -> None:
        """Register, then compete for leadership and beat until stopped."""
        self._beat()
        self._thread.start()
        self._election.start()

    def stop(self) -> None:
        """Hand over leadership (duties stop first) and unregister."""
        self._election.stop()
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        try:
            self.registry.remove(self.id)
        except ConfigStoreError as exc:
            log.warning("unregistering %s: %s", self.id, exc)

    def _stalled(self) -> None:
        # Long enough for a follower to take over before this instance competes again.
        self._election.resign(hold_off_seconds=self._options.duties.stall_seconds)

    def _elected(self) -> None:
        try:
            self.registry.claim_leadership(self.id)
        except ConfigStoreError as exc:  # the next heartbeat records it
            log.warning("recording leadership of %s: %s", self.id, exc)
        self.duties.start()
        self._on_role("leader")

    def _demoted(self) -> None:
        self.duties.stop()
        self._wake.set()
        self._on_role("follower")

    def _heartbeats(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._options.heartbeat_seconds)
            self._wake.clear()
            if not self._stop.is_set():
                self._beat()

    def _beat(self) -> None:
        try:
            with storage_errors():
                head = self._store.index.head()
            position, digest = self._applied()
            self.registry.beat(
                Beat(
                    id=self.id,
                    host=self.host,
                    pid=self.pid,
                    kind=self._kind,
                    role="leader" if self._election.is_leader else "follower",
                    position=position,
                    digest=digest,
                    head=head,
                )
            )
        except ConfigStoreError as exc:
            log.warning("heartbeat of %s: %s", self.id, exc)
