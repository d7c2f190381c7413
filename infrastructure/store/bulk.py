"""Multi-entry commands: plan/apply a document, restore an environment, promote.

Each computes its steps from the environment's state at the log head, turns them into
events on entries resumed at that state, and saves them all in one transaction guarded
by that head position: if anything in the environment moved meanwhile, nothing is
written and the command starts again (or, with an expected position, fails).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from domain.address import Address
from domain.document import EnvDocument, entry_errors, prepare_values
from domain.entry import ConfigEntry, Provenance
from domain.environment import Change, EntryState, EnvState, apply_plan, restore_plan
from domain.errors import FieldError, InvalidValueError, NotFoundError, VersionConflictError
from domain.parsing import MalformedInputError
from domain.secret_views import Schema
from domain.stored import BrokenEntry, EntryProblem
from domain.values import json_equal, validate
from infrastructure.persistence.recorder import EnvironmentMovedError
from infrastructure.retry import ENVIRONMENT_RACE
from infrastructure.store.base import storage_errors
from infrastructure.store.environment import (
    EnvironmentView,
    PointRef,
    StoreEnvironment,
    redact_changes,
)
from infrastructure.store.keyguard import refused_sealing

Planner = Callable[[EnvironmentView], list[Change]]


@dataclass(frozen=True)
class BulkResult:
    """What a multi-entry command did (or, ``applied=False``, would do).

    ``base_position``: the log position the steps were planned at; ``position``: the
    position of the last event written (``base_position`` when nothing was written).
    """

    environment: str
    base_position: int
    position: int
    applied: bool
    steps: list[Change] = field(default_factory=list)
    #: Entries left alone because their stored value (in the source environment, or
    #: as the document says) cannot be served: never copied, never pruned.
    skipped: list[EntryProblem] = field(default_factory=list)

    @property
    def changes(self) -> list[Change]:
        """Steps that change something."""
        return [s for s in self.steps if s.action != "unchanged"]


class StoreBulk(StoreEnvironment):
    """Atomic multi-entry commands. Raise :class:`InvalidValueError` (every bad field of
    every entry), :class:`VersionConflictError`, :class:`NotFoundError`,
    :class:`SecretKeyError` or :class:`StorageError`; on any error nothing is appended."""

    def apply_document(
        self,
        document: EnvDocument,
        *,
        environment: str,
        provenance: Provenance,
        prune: bool = False,
        expected_position: int | None = None,
        dry_run: bool = False,
        may_reveal: bool = False,
    ) -> BulkResult:
        """Make the environment hold the document's entries (``prune``: and no others,
        except those its ``problems`` name). Idempotent: applying the same document again
        appends nothing, except that a plaintext secret is always a change (sealed anew)
        for a caller who may not reveal secrets: see :meth:`StoreCommands.set`."""
        kept = {(p.area, p.key) for p in document.problems}

        def planner(view: EnvironmentView) -> list[Change]:
            try:
                wanted = prepare_values(
                    document,
                    registry=self.registry,
                    codec=self.codec,
                    current=view.state,
                    may_reveal=may_reveal,
                )
            except InvalidValueError:
                refusal = refused_sealing(self.codec)
                if refusal is not None:  # the key, not the fields, is what is wrong
                    raise refusal from None
                raise
            steps = apply_plan(view.state, wanted, prune=prune)
            return [_repairing(view, s) for s in steps if (s.area, s.key) not in kept]

        result = self._run(environment, planner, provenance, expected_position, dry_run)
        return replace(result, skipped=list(document.problems))

    def restore(
        self,
        environment: str,
        point: PointRef,
        *,
        provenance: Provenance,
        dry_run: bool = False,
        expected_position: int | None = None,
    ) -> BulkResult:
        """Append the compensating events that make the environment equal to an earlier
        point (position, time or snapshot name); history is never rewritten. With
        ``expected_position`` (a dry run's ``base_position``), raises
        :class:`EnvironmentMovedError`, writing nothing, if the environment changed after it."""
        target = self.environment_at(environment, point)

        def planner(view: EnvironmentView) -> list[Change]:
            steps = restore_plan(view.state, target.state)
            self._check_restorable(environment, steps, target.state)
            return steps

        return self._run(environment, planner, provenance, expected_position, dry_run)

    def promote(
        self,
        source: str,
        target: str,
        *,
        provenance: Provenance,
        prune: bool = False,
        dry_run: bool = False,
        expected_position: int | None = None,
    ) -> BulkResult:
        """Apply the source environment's current entries to the target environment.
        An entry whose stored value cannot be served (nor its secrets opened) is not
        copied, and left alone in the target even with ``prune``: it is reported in
        ``skipped``. Raises :class:`NotFoundError` if the source has never had an entry;
        with ``expected_position`` (a dry run's ``base_position``), as :meth:`restore`
        when the source or the target changed after it (the target atomically with the
        write; the source when it is read)."""
        if source == target:
            raise InvalidValueError.single("to", "must differ from the source environment")
        view = self.environment_at(source)
        if not view.state:
            raise NotFoundError(f"environment {source!r} has no entries")
        if expected_position is not None:
            _check_expected(view, expected_position)
        served = self.served(view, live_only=True, sealed=True)
        document = EnvDocument(source, served.live(), problems=served.problems)
        return self.apply_document(
            document,
            environment=target,
            provenance=provenance,
            prune=prune,
            dry_run=dry_run,
            expected_position=expected_position,
        )

    def _run(
        self,
        environment: str,
        planner: Planner,
        provenance: Provenance,
        expected_position: int | None,
        dry_run: bool,
    ) -> BulkResult:
        for _ in ENVIRONMENT_RACE.tries():
            view = self.environment_at(environment)
            if expected_position is not None:
                _check_expected(view, expected_position)
            steps = planner(view)
            result = BulkResult(environment, view.position, view.position, False, steps)
            if dry_run or not result.changes:
                return _shown(result, self.serving.schema)
            try:
                position = self._save(view, result.changes, provenance)
            except (IntegrityError, EnvironmentMovedError):
                if expected_position is not None:
                    raise EnvironmentMovedError(environment, expected_position) from None
                continue
            return _shown(
                BulkResult(environment, view.position, position, True, steps), self.serving.schema
            )
        raise VersionConflictError(
            f"environment {environment!r}",
            expected=None,
            current=None,
            detail=f"environment {environment!r} kept changing during"
            f" {ENVIRONMENT_RACE.attempts} attempts; retry",
        )

    def _check_restorable(self, environment: str, steps: list[Change], target: EnvState) -> None:
        """Earlier values must still pass today's schema (as a single rollback must);
        raises one :class:`InvalidValueError` listing every field that does not."""
        errors: list[FieldError] = []
        for step in steps:
            if step.value is None:
                continue
            then = target.get((step.area, step.key))
            if isinstance(then, BrokenEntry):
                errors.append(FieldError(f"entries.{step.area}.{step.key}", then.problem))
                continue
            model = self.model_for(Address(environment, step.area, step.key))
            try:
                validate(model, step.value, key=step.key, limits=self.registry.limits)
            except InvalidValueError as exc:
                errors.extend(entry_errors(step.area, step.key, exc))
        if errors:
            raise InvalidValueError(errors)

    def _save(self, view: EnvironmentView, steps: list[Change], provenance: Provenance) -> int:
        self.refuse_quarantined_in(view.environment, [(s.area, s.key) for s in steps])
        entries = [self._entry(view, step, provenance) for step in steps]
        with storage_errors():
            recordings = self.app.save(
                *entries,
                addresses={e.id: e.address for e in entries},
                guard=(view.environment, view.position),
            )
        for entry in entries:
            self.entries.put(entry)
        return recordings[-1].notification.id

    def _entry(self, view: EnvironmentView, step: Change, provenance: Provenance) -> ConfigEntry:
        address = Address(view.environment, step.area, step.key)
        schema_version = self.model_for(address).schema_version
        if step.action == "create":
            assert step.value is not None
            return ConfigEntry.create(address, step.value, provenance, schema_version)
        now = view.state[step.area, step.key]
        entry = _resume(address, now, view.recorded_at)
        if step.action == "delete":
            entry.delete(provenance, schema_version)
        elif step.action == "rollback":
            assert step.value is not None and step.target_version is not None
            entry.roll_back(step.target_version, step.value, provenance, schema_version)
        elif step.action == "undelete" and json_equal(step.value, now.stored):
            entry.undelete(provenance, schema_version)
        else:
            assert step.value is not None
            entry.set(step.value, provenance, schema_version)
        return entry


def _resume(address: Address, now: EntryState, when: datetime | None) -> ConfigEntry:
    return ConfigEntry.resume(
        address,
        version=now.version,
        value=now.stored,
        deleted=now.deleted,
        modified_on=when or datetime.now(UTC),
    )


def _repairing(view: EnvironmentView, step: Change) -> Change:
    """A value for a broken entry (one whose value is unknown) is written even when it
    equals the placeholder the state holds for it."""
    if step.action == "unchanged" and isinstance(
        view.state.get((step.area, step.key)), BrokenEntry
    ):
        return replace(step, action="update")
    return step


def _shown(result: BulkResult, schema: Callable[[str, str], Schema]) -> BulkResult:
    """The result with secrets redacted from its steps (``schema(environment, area)``
    says which fields are secret)."""
    return replace(
        result, steps=redact_changes(result.steps, lambda area: schema(result.environment, area))
    )


def _check_expected(view: EnvironmentView, expected: int) -> None:
    """Raises :class:`EnvironmentMovedError` when the environment changed after the
    ``expected`` position, :class:`MalformedInputError` when that position is not yet in
    the log (a forged or mangled value would otherwise pass every later check)."""
    if expected > view.position:
        raise MalformedInputError(
            "expected_position",
            f"position {expected} is beyond the last position in the log ({view.position})",
        )
    if view.last_change > expected:
        raise EnvironmentMovedError(view.environment, expected)
