"""Whole-environment reads: state at a point, export, diff between points, snapshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from psycopg import Cursor
from psycopg.rows import tuple_row

from domain.document import EnvDocument
from domain.environment import Change, EnvState, diff_states, live
from domain.errors import InvalidValueError, NotFoundError, VersionConflictError
from domain.secrets import redact
from infrastructure.projection.checkpoints import CheckpointInfo
from infrastructure.store.base import StoreBase, storage_errors

#: A point of the log: a position, a time, or a named snapshot.
PointRef = int | datetime | str
SNAPSHOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
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


def redact_changes(changes: list[Change]) -> list[Change]:
    """The same changes with sealed secrets shown as ``********``."""
    return [
        Change(c.area, c.key, c.action, c.version, redact(c.changes), None, c.target_version)
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

    def export(
        self, environment: str, point: PointRef | None = None, *, include_secrets: bool = False
    ) -> EnvDocument:
        """The live entries' stored values; secrets redacted unless ``include_secrets``
        (then still sealed: only a store with the same key can import them)."""
        view = self.environment_at(environment, point)
        entries = live(view.state)
        return EnvDocument(
            environment=environment,
            position=view.position,
            recorded_at=view.recorded_at,
            entries=entries if include_secrets else redact(entries),
        )

    def diff_environment(
        self, environment: str, before: PointRef | None, after: PointRef | None
    ) -> list[Change]:
        """Entries added (``create``), removed (``delete``) or changed (``update``) between
        two points (``None``: now); secrets redacted."""
        old = self.environment_at(environment, before)
        new = self.environment_at(environment, after, catch_up=False)
        return redact_changes(diff_states(old.state, new.state))

    def create_snapshot(
        self, environment: str, name: str, *, actor: str, reason: str | None = None
    ) -> CheckpointInfo:
        """Name the environment's state now. Raises :class:`InvalidValueError` for a bad
        name, :class:`VersionConflictError` for a taken one."""
        if not SNAPSHOT_NAME.fullmatch(name) or name in RESERVED_NAMES:
            raise InvalidValueError.single(
                "name", "use 1-100 letters, digits or _.- starting with a letter (not `now`)"
            )
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
        return self.snapshot(environment, name)

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
