"""What the dashboard shows besides the environments' entries: the log head, projection
lag, instances and leader, the mirror, scheduled changes due and the last ``verify``,
each with a green/amber/red indicator.

Lag is judged by ``/readyz`` itself (:func:`infrastructure.http.system.readiness`, the
same limit ``CONDUIT_CONFIG_READY_MAX_LAG``): red where it would answer 503, amber while
something is behind but within the limit, green when all is current.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi import FastAPI
from psycopg.sql import SQL

from domain.access import Grant, Role
from domain.errors import ConfigStoreError
from infrastructure.cluster.registry import InstanceInfo
from infrastructure.http.services import services_of
from infrastructure.http.system import readiness as readyz_answer  # /readyz itself
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import fetch_all, table
from infrastructure.store import ConfigStore
from infrastructure.store.chain import ChainHead, head
from infrastructure.store.verify_runs import VerifyRun, last_verify_run

Level = Literal["ok", "warn", "bad", "off"]
LABELS: dict[Level, str] = {"ok": "green", "warn": "amber", "bad": "red", "off": "not set up"}


@dataclass(frozen=True)
class Indicator:
    """A status light: ``level`` (``ok`` green, ``warn`` amber, ``bad`` red, ``off``)
    and the sentence saying why."""

    level: Level
    text: str

    @property
    def label(self) -> str:
        """The colour's name, for screen readers and tests."""
        return LABELS[self.level]


@dataclass(frozen=True)
class Readiness:
    """``/readyz``'s answer: ready or not, why, the head and each lag."""

    ready: bool
    detail: str
    head: int
    lag: dict[str, int]
    limit: int


def readiness(app: FastAPI) -> Readiness:
    """What ``/readyz`` would answer now (it reads the database; never raises)."""
    answer = readyz_answer(app)
    body: dict[str, Any] = orjson.loads(bytes(answer.body))
    lag = {str(k): int(v) for k, v in (body.get("lag") or {}).items()}
    detail = str(body.get("detail") or body.get("status") or "")
    limit = services_of(app).options.ready_max_lag
    return Readiness(answer.status_code == 200, detail, int(body.get("head") or 0), lag, limit)


def lag_indicator(ready: Readiness) -> Indicator:
    """Red when ``/readyz`` answers 503, amber while behind within its limit, else green."""
    if not ready.ready:
        return Indicator("bad", ready.detail)
    behind = {name: lag for name, lag in ready.lag.items() if lag > 0}
    if behind:
        text = ", ".join(f"{n} {lag} behind" for n, lag in sorted(behind.items()))
        return Indicator("warn", f"catching up: {text} (limit {ready.limit})")
    return Indicator("ok", "every projection is at the log head")


def lag_level(lag: int, limit: int) -> Level:
    """One lag by ``/readyz``'s limit: over it red, behind amber, current green."""
    return "bad" if lag > limit else "warn" if lag > 0 else "ok"


@dataclass(frozen=True)
class ClusterView:
    """Instances (the live leader first) and the indicator."""

    leader: str | None
    instances: list[InstanceInfo]
    indicator: Indicator


def cluster_view(app: FastAPI, limit: int, *, admin: bool) -> ClusterView:
    """The instances as ``GET /v1/cluster`` lists them. Red without a live leader (no
    projections, schedules or mirror run), amber when one is gone or behind by more than
    ``/readyz``'s limit. Only an ``admin`` gets the instances and the leader's id, as
    from the API. Raises :class:`StorageError`."""
    services = services_of(app)
    found = services.registry.instances(timeout_seconds=services.options.instance_timeout_seconds)
    live = [i for i in found if i.alive]
    leaders = [i.id for i in live if i.role == "leader"]
    if not found:
        indicator = Indicator("off", "no instance is registered (none follows the log)")
    elif not leaders:
        indicator = Indicator("bad", "no live leader: projections and schedules are stopped")
    elif len(live) < len(found) or any(i.lag > limit for i in live):
        indicator = Indicator("warn", f"{len(live)} of {len(found)} live; some lag or are gone")
    else:
        indicator = Indicator("ok", f"{len(live)} live, leader {leaders[0]}")
    if not admin:
        indicator = Indicator(indicator.level, f"{len(live)} of {len(found)} live")
        return ClusterView(None, [], indicator)
    return ClusterView(leaders[0] if leaders else None, found, indicator)


@dataclass(frozen=True)
class MirrorView:
    """The Redis mirror's position and lag (``None`` when not configured)."""

    position: int | None
    head: int | None
    lag: int | None
    indicator: Indicator


def mirror_view(app: FastAPI, limit: int) -> MirrorView:
    """The mirror's status (it reads Redis); red when Redis cannot be read."""
    mirror = services_of(app).mirror
    status = getattr(mirror, "status", None)
    if status is None:
        return MirrorView(None, None, None, Indicator("off", "no mirror configured"))
    try:
        found = status()
    except (ConfigStoreError, OSError) as exc:
        return MirrorView(None, None, None, Indicator("bad", f"mirror unreadable: {exc}"))
    level = lag_level(found.lag, limit)
    return MirrorView(
        found.position, found.head, found.lag, Indicator(level, f"{found.lag} behind")
    )


@dataclass(frozen=True)
class ScheduledView:
    """Pending scheduled changes the user sees, and those past due."""

    pending: int
    overdue: int
    next_due: datetime | None
    indicator: Indicator
    per_environment: dict[str, int] = field(default_factory=dict)


def scheduled_view(store: ConfigStore, grant: Grant) -> ScheduledView:
    """Amber while a change is past its time (the leader applies due changes every
    second or so: one left over means it is not running). Raises :class:`StorageError`."""
    now = datetime.now(UTC)
    views = [
        v for v in store.scheduled_changes(None) if grant.sees(v.change.environment, v.change.area)
    ]
    overdue = sum(1 for v in views if v.change.due_at <= now)
    per_env = Counter(v.change.environment for v in views)
    next_due = min((v.change.due_at for v in views), default=None)
    indicator = (
        Indicator("warn", f"{overdue} past due: is a leader running?")
        if overdue
        else Indicator("ok", f"{len(views)} pending, none past due")
    )
    return ScheduledView(len(views), overdue, next_due, indicator, dict(sorted(per_env.items())))


def verify_indicator(run: VerifyRun | None, *, admin: bool = True) -> Indicator:
    """Red when the last run found problems, amber before any run, else green. Only an
    ``admin`` (who alone may run verify) learns how many: a run may span environments
    outside another user's scopes."""
    if run is None:
        return Indicator("warn", "verify has never run")
    if run.problems:
        return Indicator("bad", f"{run.problems} problem(s) found" if admin else "found problems")
    return Indicator("ok", "no problems found")


@dataclass(frozen=True)
class SystemStatus:
    """Everything of the dashboard's status section."""

    readiness: Readiness
    lag: Indicator
    head: ChainHead | None
    cluster: ClusterView
    mirror: MirrorView
    scheduled: ScheduledView
    verify: VerifyRun | None
    verify_indicator: Indicator

    @property
    def head_indicator(self) -> Indicator:
        """Green once the log has a chained event."""
        if self.head is None:
            return Indicator("off", "no chained event yet")
        return Indicator("ok", f"chained up to position {self.head.position}")


def system_status(app: FastAPI, grant: Grant) -> SystemStatus:
    """The dashboard's status section for ``grant``. Raises :class:`StorageError`."""
    store = services_of(app).store
    ready = readiness(app)
    run = last_verify_run(store)
    admin = grant.allows(Role.ADMIN)
    return SystemStatus(
        readiness=ready,
        lag=lag_indicator(ready),
        head=head(store),
        cluster=cluster_view(app, ready.limit, admin=admin),
        mirror=mirror_view(app, ready.limit),
        scheduled=scheduled_view(store, grant),
        # Who ran it, on which environment, with what counts: for admins only.
        verify=run if admin else None,
        verify_indicator=verify_indicator(run, admin=admin),
    )


def entry_counts(store: ConfigStore, grant: Grant) -> dict[str, dict[str, int]]:
    """Live entries per environment and area the user sees, counted by the database
    (one query; no entry is read). Raises :class:`StorageError`."""
    store.fresh(["current"])
    query = SQL(
        "SELECT environment, area, count(*) AS n FROM {} WHERE NOT deleted"
        " GROUP BY environment, area ORDER BY environment, area"
    ).format(table(store.index.datastore, "cc_current"))
    with storage_errors():
        rows = fetch_all(store.index.datastore, query, ())
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        env, area = str(row["environment"]), str(row["area"])
        if grant.sees(env, area):
            counts.setdefault(env, {})[area] = int(row["n"])
    return counts


def quarantined_counts(store: ConfigStore, grant: Grant) -> dict[str, int]:
    """Entries refused by reads (quarantined by ``verify``) per environment, of the
    areas the user sees. Raises :class:`StorageError`."""
    query = SQL("SELECT environment, area, count(*) AS n FROM {} GROUP BY environment, area")
    statement = query.format(table(store.index.datastore, "cc_quarantine"))
    with storage_errors():
        rows = fetch_all(store.index.datastore, statement, ())
    found: Counter[str] = Counter()
    for row in rows:
        if grant.sees(str(row["environment"]), str(row["area"])):
            found[str(row["environment"])] += int(row["n"])
    return dict(found)
