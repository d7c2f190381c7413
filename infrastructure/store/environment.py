"""Whole-environment reads: state at a point, export, diff between points, snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from psycopg import Cursor
from psycopg.rows import tuple_row

from domain.document import EnvDocument
from domain.environment import Change, EntryKey, EntryState, EnvState, diff_states
from domain.errors import InvalidValueError, NotFoundError, VersionConflictError
from domain.parsing import SNAPSHOT_NAME
from domain.secret_views import Schema, redact_ops
from domain.stored import EntryProblem
from infrastructure.projection.checkpoints import CheckpointInfo
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.serving import Served

#: A point of the log: a position, a time, or a named snapshot.
PointRef = int | datetime | str
RESERVED_NAMES = frozenset({"now"})  # a point, not a snapshot


def _no_snapshot(environment: str, name: str) -> NotFoundError:
    return NotFoundError(f"no snapshot named {name!r} in environment {environment!r}")


@dataclass(frozen=True)
class EnvironmentView:
    """An environment after every event up to ``position`` (recorded at ``recorded_at``)."""

    environment: str
    position: int
    recorded_at: datetime | None
    state: EnvState

    @property
    def last_change(self) -> int:
        """Position of the environment's latest event up to here (0: none)."""
        return max((e.position for e in self.state.values()), default=0)


@dataclass(frozen=True)
class StateView:
    """Every entry of an environment (deleted ones included) as a read serves it, at
    ``position``; ``problems``: the entries left out because they cannot be served."""

    environment: str
    position: int
    entries: list[EntryState]
    problems: list[EntryProblem]


@dataclass(frozen=True)
class EnvironmentDiff:
    """What changed between two points; ``problems``: entries left out of the
    comparison because their value at either point cannot be served."""

    changes: list[Change]
    problems: list[EntryProblem]


def redact_changes(changes: list[Change], schema_of: Callable[[str], Schema]) -> list[Change]:
    """The same changes with their secrets shown as ``********``; ``schema_of(area)``
    says which fields of an area are secret."""
    return [
        Change(
            c.area,
            c.key,
            c.action,
            c.version,
            redact_ops(c.changes, schema_of(c.area)),
            None,
            c.target_version,
        )
        for c in changes
    ]


class StoreEnvironment(StoreBase):
    """Reads over whole environments. Raise :class:`NotFoundError`,
    :class:`InvalidValueError` or :class:`StorageError`."""

    @contextmanager
    def _cursor(self) -> Iterator[Cursor[Any]]:
        with (
            storage_errors(),
            self.app.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            yield cur

    def environment_at(
        self, environment: str, point: PointRef | None = None, *, catch_up: bool = True
    ) -> EnvironmentView:
        """The environment now, or at a position, a time or a named snapshot. A position
        inside a multi-entry write means the end of that write (never half of it)."""
        if catch_up:
            self.fresh(["checkpoints"])
        with storage_errors():
            position = self._resolve(environment, point)
            row = self.index.at_position(position)
        with self._cursor() as cur:
            state = self.checkpoints.state_at(cur, environment, position)
        return EnvironmentView(environment, position, row.recorded_at if row else None, state)

    def _resolve(self, environment: str, point: PointRef | None) -> int:
        if point is None:
            return self.index.head()
        if isinstance(point, datetime):
            row = self.index.last_at(point)
            return row.position if row else 0
        if isinstance(point, int):
            end = self.index.transaction_end(point) if point > 0 else None
            if end is not None:
                return end
            head = self.index.head()
            if not 0 <= point <= head:
                raise NotFoundError(f"position {point} is not in the log (head is {head})")
            return point
        return self.snapshot(environment, point).position

    def served(self, view: EnvironmentView, *, live_only: bool, sealed: bool = False) -> Served:
        """The view's entries as reads serve them, secrets redacted (``sealed``: kept
        sealed, and each must open with this store's key); a bad entry is reported."""
        return self.serving.partition(
            view.environment,
            view.state.values(),
            live_only=live_only,
            redacted=not sealed,
            opened=sealed,
        )

    def export(
        self, environment: str, point: PointRef | None = None, *, include_secrets: bool = False
    ) -> EnvDocument:
        """The live entries' stored values; secrets redacted unless ``include_secrets``
        (then still sealed: only a store with the same key can import them). An entry
        whose value cannot be served is left out and named in ``problems``."""
        view = self.environment_at(environment, point)
        served = self.served(view, live_only=True, sealed=include_secrets)
        return EnvDocument(
            environment=environment,
            position=view.position,
            recorded_at=view.recorded_at,
            entries=served.live(),
            problems=served.problems,
        )

    def environment_state(self, environment: str, *, include_secrets: bool = False) -> StateView:
        """Every entry now, deleted ones included, with its version (what a client loads
        before following the change stream); secrets redacted unless ``include_secrets``."""
        view = self.environment_at(environment, catch_up=False)
        served = self.served(view, live_only=False, sealed=include_secrets)
        return StateView(environment, view.position, served.entries, served.problems)

    def diff_environment(
        self, environment: str, before: PointRef | None, after: PointRef | None
    ) -> EnvironmentDiff:
        """Entries added (``create``), removed (``delete``) or changed (``update``) between
        two points (``None``: now); secrets redacted. An entry whose value at either
        point cannot be served is left out and named in ``problems``."""
        old = self.environment_at(environment, before)
        new = self.environment_at(environment, after, catch_up=False)
        problems: dict[EntryKey, EntryProblem] = {}
        states = []
        for view in (old, new):
            served = self.serving.partition(
                environment, view.state.values(), live_only=False, redacted=False
            )
            problems.update({(p.area, p.key): p for p in served.problems})
            states.append({(e.area, e.key): e for e in served.entries})
        for key in problems:  # not compared at all: absent on one side is not a change
            for state in states:
                state.pop(key, None)
        changes = redact_changes(
            diff_states(states[0], states[1]),
            lambda area: self.serving.schema(environment, area),
        )
        return EnvironmentDiff(changes, [problems[k] for k in sorted(problems)])

    def create_snapshot(
        self, environment: str, name: str, *, actor: str, reason: str | None = None
    ) -> CheckpointInfo:
        """Name the environment's state now. Raises :class:`InvalidValueError` for a bad
        name or a reason with a NUL, :class:`VersionConflictError` for a taken one."""
        if not SNAPSHOT_NAME.fullmatch(name) or name in RESERVED_NAMES:
            raise InvalidValueError.single(
                "name", "use 1-100 letters, digits or _.- starting with a letter (not `now`)"
            )
        if reason is not None and "\x00" in reason:  # PostgreSQL text cannot hold it
            raise InvalidValueError.single("reason", "must not contain NUL characters")
        view = self.environment_at(environment)
        try:
            with self._cursor() as cur:
                self.checkpoints.save(
                    cur,
                    environment=environment,
                    position=view.position,
                    state=view.state,
                    name=name,
                    created_by=actor,
                    reason=reason,
                )
        except IntegrityError:
            raise VersionConflictError(
                f"snapshot {name}",
                expected=None,
                current=None,
                detail=f"a snapshot named {name!r} already exists in {environment!r}",
            ) from None
        # The snapshot keeps every entry as the log has it; reads of it leave these out.
        problems = self.served(view, live_only=True).problems
        return replace(self.snapshot(environment, name), problems=tuple(problems))

    def snapshot(self, environment: str, name: str) -> CheckpointInfo:
        """A named snapshot; raises :class:`NotFoundError`."""
        with self._cursor() as cur:
            found = self.checkpoints.find(cur, environment, name)
        if found is None:
            raise _no_snapshot(environment, name)
        return found

    def snapshots(self, environment: str, *, automatic: bool = False) -> list[CheckpointInfo]:
        """Named snapshots (and with ``automatic`` the projection's checkpoints), newest first."""
        self.fresh(["checkpoints"])
        with self._cursor() as cur:
            return self.checkpoints.list(cur, environment, named_only=not automatic)

    def delete_snapshot(self, environment: str, name: str) -> None:
        """Forget a named snapshot (the log is untouched); raises :class:`NotFoundError`."""
        with self._cursor() as cur:
            if not self.checkpoints.delete(cur, environment, name):
                raise _no_snapshot(environment, name)
