"""Applying scheduled changes when due, exactly once (the cluster leader's duty).

Applying one appends the target entry's event and the schedule entry's move to
``applied`` in one transaction. Both are appended at the versions they were decided at,
so when two instances (or a cancel) race, the loser's whole transaction is refused and
it simply finds the change done on its next look.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from domain.areas.scheduled_change import ScheduledChange
from domain.entry import ConfigEntry
from domain.errors import ConfigStoreError
from domain.scheduling import clip, scheduler_provenance, target_after
from infrastructure.errors import StorageError
from infrastructure.retry import SCHEDULE_RACE
from infrastructure.store.schedule import StoreSchedule, schedule_address
from infrastructure.store.views import ScheduledView

# The logger's name from before this part had its own module: log settings keep working.
log = logging.getLogger("infrastructure.store.schedule")


class StoreScheduleRunner(StoreSchedule):
    """Scheduled changes, applied when due as well. Raise as :class:`StoreSchedule`
    does."""

    def apply_due_changes(
        self, now: datetime | None = None, limit: int = 100
    ) -> list[ScheduledView]:
        """Apply (or mark failed) up to ``limit`` pending changes due at ``now`` (default:
        the current time), oldest first; returns them as they ended. A change another
        instance or a cancel got to first is skipped. Raises :class:`StorageError`."""
        moment = now or datetime.now(UTC)
        due = self.scheduled_changes(due_by=moment)[:limit]
        ended = []
        for view in due:
            try:
                outcome = self._apply(view.id)
            except StorageError:
                raise
            except ConfigStoreError as exc:
                # One change that cannot be settled must not hold back the others.
                log.warning("scheduled change %s not applied: %s", view.id, exc)
                continue
            if outcome is not None:
                ended.append(outcome)
        return ended

    def _apply(self, schedule_id: str) -> ScheduledView | None:
        address = schedule_address(schedule_id)
        for _ in SCHEDULE_RACE.tries():
            entry = self.load(address)
            if entry is None:
                return None
            change = self._parsed(schedule_id, entry.value)
            if change.done:
                return None  # the projection lagged: another instance got there first
            try:
                self._settle(entry, change)
            except IntegrityError:
                # Lost a race on the schedule (it is done now) or on the target (decide
                # again on its new state): nothing of this attempt was written.
                self.entries.drop(change.target.entry_id)
                continue
            return self.scheduled(schedule_id)
        return None

    def _settle(self, entry: ConfigEntry, change: ScheduledChange) -> None:
        """Append the target's event and the schedule's new status (or only the status
        ``failed``, with the reason); raises ``IntegrityError`` when a version is taken."""
        who = scheduler_provenance(entry.key, change)
        try:
            rules = self.decision_rules(change.target)
            target = target_after(rules, change, self.load(change.target), who=who)
        except StorageError:
            raise
        except ConfigStoreError as exc:
            self._finish(entry, who, {"status": "failed", "result": clip(str(exc))}, None)
            return
        what = f"{change.operation} applied" if target.pending_events else "no change needed"
        result = f"{what}: {target.address} is at version {target.version}"
        update = {"status": "applied", "result": result, "applied_version": target.version}
        self._finish(entry, who, update, target if target.pending_events else None)
