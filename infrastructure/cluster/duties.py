"""What only the leader runs: the projection writers, the Redis mirror and the
scheduler's jobs (due scheduled changes, timed checkpoints, the lag watchdog, pruning
dead instances). Started on election, stopped on demotion; the watchdog makes a leader
whose projections are stuck step down."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from domain.errors import ConfigStoreError
from infrastructure.cluster.registry import InstanceRegistry
from infrastructure.options import from_setting, options_from
from infrastructure.projection.checkpoints import CheckpointSink
from infrastructure.projection.runner import ProjectionStatus
from infrastructure.retry import RECONNECT_BACKOFF
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore

log = logging.getLogger("conduit_config.cluster")
PRUNE_AFTER_SECONDS = 3600.0


class Follower(Protocol):
    """A log follower the leader runs in a thread (the Redis mirror)."""

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop`` is set."""


@dataclass(frozen=True)
class DutyOptions:
    """How often the leader's jobs run; see the settings of the same names (each
    default is the setting's default)."""

    checkpoint_minutes: float = from_setting("checkpoint_minutes")
    schedule_poll_seconds: float = from_setting("schedule_poll_seconds")
    lag_alert_events: int = from_setting("lag_alert_events")
    instance_timeout_seconds: float = from_setting("instance_timeout_seconds")
    #: Not a setting: how often the watchdog looks at the projections.
    watchdog_seconds: float = 5.0
    #: A projection behind the log that has not moved for this long makes the leader
    #: step down (its writer is wedged; another instance may not be).
    stall_seconds: float = from_setting("leader_stall_seconds")

    @classmethod
    def from_settings(cls, settings: Settings) -> DutyOptions:
        """The leader's job timing from ``settings``."""
        return options_from(cls, settings)


class RestartingLoop:
    """A thread that runs ``body(stop)`` until stopped, restarting it (with backoff)
    after errors, which it logs."""

    def __init__(self, name: str, body: Callable[[threading.Event], None]) -> None:
        self._body = body
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop it and wait (15 s at most) for ``body`` to return."""
        self._stop.set()
        self._thread.join(timeout=15)
        if self._thread.is_alive():  # a batch stuck in the database: say so, go on
            log.error("%s did not stop within 15 s", self._thread.name)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._body(self._stop)
                failures = 0
            except Exception as exc:  # keep the leader's work going; the cause is logged
                failures += 1
                delay = RECONNECT_BACKOFF.delay(failures)
                log.warning("%s: %s; retrying in %.1fs", self._thread.name, exc, delay)
                self._stop.wait(delay)


def stop_all(stops: list[Callable[[], None]], *, timeout: float) -> bool:
    """Call every ``stop`` at once, each in a thread of its own, and wait ``timeout``
    seconds at most for them all; ``False`` (and an error logged) if one is still
    running then. Its thread is a daemon: it cannot keep the process from exiting."""
    threads = [
        threading.Thread(target=stop, name=f"stop-{n}", daemon=True) for n, stop in enumerate(stops)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [stops[n] for n, thread in enumerate(threads) if thread.is_alive()]
    for stop in stuck:
        log.error("%s did not stop within %g s; left behind", _name_of(stop), timeout)
    return not stuck


def _name_of(stop: Callable[[], None]) -> str:
    owner = getattr(stop, "__self__", None)
    return type(owner).__name__ if owner is not None else getattr(stop, "__name__", "a task")


class LeaderDuties:
    """The leader's threads and scheduled jobs over one store."""

    def __init__(
        self,
        *,
        store: ConfigStore,
        registry: InstanceRegistry,
        options: DutyOptions,
        mirror: Follower | None = None,
        on_stalled: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._on_stalled = on_stalled
        self._progress: dict[str, tuple[int, float]] = {}
        self._registry = registry
        self._options = options
        self._mirror = mirror
        self._loops: list[RestartingLoop] = []
        self._scheduler: BackgroundScheduler | None = None
        self.lagging: dict[str, int] = {}

    def start(self) -> None:
        """Start the projection writers, the mirror and the scheduler."""
        store = self._store
        self._loops = [
            RestartingLoop(
                "projections", lambda stop: store.projections.run(store.database_url, stop)
            )
        ]
        if self._mirror is not None:
            self._loops.append(RestartingLoop("redis-mirror", self._mirror.run))
        for loop in self._loops:
            loop.start()
        self._scheduler = self._jobs()
        self._scheduler.start()

    def stop(self) -> None:
        """Stop everything started, waiting for running jobs to end."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        for loop in self._loops:
            loop.stop()
        self._loops = []

    def _jobs(self) -> BackgroundScheduler:
        opts = self._options
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        # Jobs with long intervals run at once too: a leader that changes more often
        # than their interval would otherwise never run them.
        now = datetime.now(UTC)
        scheduler.add_job(
            self.apply_due_changes, "interval", seconds=opts.schedule_poll_seconds, id="scheduled"
        )
        if opts.checkpoint_minutes > 0:
            scheduler.add_job(
                self.checkpoint,
                "interval",
                minutes=opts.checkpoint_minutes,
                id="checkpoints",
                next_run_time=now,
            )
        scheduler.add_job(self.watchdog, "interval", seconds=opts.watchdog_seconds, id="watchdog")
        scheduler.add_job(
            self.prune, "interval", seconds=PRUNE_AFTER_SECONDS / 10, id="prune", next_run_time=now
        )
        return scheduler

    def apply_due_changes(self) -> None:
        """Apply every scheduled change that is due (each exactly once)."""
        try:
            for outcome in self._store.apply_due_changes():
                log.info("scheduled change %s: %s", outcome.id, outcome.change.status)
        except ConfigStoreError as exc:
            log.warning("applying scheduled changes: %s", exc)

    def checkpoint(self) -> int:
        """Checkpoint every environment changed since its last checkpoint."""
        runner = self._store.projections
        sink = runner.sink("checkpoints")
        assert isinstance(sink, CheckpointSink)
        try:
            runner.catch_up(["checkpoints"])
            count = runner.run_locked("checkpoints", sink.checkpoint_changed)
        except Exception as exc:  # psycopg's or ours: log and try at the next interval
            log.warning("timed checkpoints: %s", exc)
            return 0
        if count:
            log.info("checkpointed %d environment(s)", count)
        return count

    def watchdog(self) -> dict[str, int]:
        """Log each projection or instance whose lag passed the alert threshold (and
        when it recovers); returns what lags now."""
        limit = self._options.lag_alert_events
        try:
            statuses = self._store.projection_status()
            lags = {f"projection {s.name}": s.lag for s in statuses}
            for info in self._registry.instances(
                timeout_seconds=self._options.instance_timeout_seconds
            ):
                if info.alive:
                    lags[f"instance {info.id}"] = info.lag
        except ConfigStoreError as exc:
            log.warning("lag watchdog: %s", exc)
            return self.lagging
        now = {name: lag for name, lag in lags.items() if lag > limit}
        for name in now.keys() - self.lagging.keys():
            log.warning("%s is %d events behind the log (alert above %d)", name, now[name], limit)
        for name in self.lagging.keys() - now.keys():
            log.info("%s has caught up", name)
        self.lagging = now
        self._check_progress(statuses)
        return now

    def _check_progress(self, statuses: list[ProjectionStatus]) -> None:
        """Step down (``on_stalled``) when a projection behind the log has not moved
        for ``stall_seconds``."""
        moment = time.monotonic()
        for status in statuses:
            position, since = self._progress.get(status.name, (-1, moment))
            if status.lag == 0 or status.position != position:
                self._progress[status.name] = (status.position, moment)
            elif moment - since >= self._options.stall_seconds:
                log.error(
                    "projection %s has not moved from position %d for %.0fs with %d events"
                    " to go: stepping down as leader",
                    status.name,
                    status.position,
                    moment - since,
                    status.lag,
                )
                self._progress.clear()
                self._on_stalled()
                return

    def prune(self) -> None:
        """Forget instances dead for an hour."""
        try:
            self._registry.prune(PRUNE_AFTER_SECONDS)
        except ConfigStoreError as exc:
            log.warning("pruning instances: %s", exc)
