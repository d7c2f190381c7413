"""The console's promote: copying another environment's entries into this one, applied
through the store's own ``promote`` (as ``POST /v1/envs/{env}/promote``) and only as the
plan the compare page showed: the plan is computed again and compared with the shown
one's digest, and the store refuses the write if the target changed after the shown
plan's log position (nothing is written either way)."""

from __future__ import annotations

from domain.access import Grant, Role
from domain.entry import Provenance
from infrastructure.console.compare_data import plan_digest
from infrastructure.http.environments import env_for
from infrastructure.persistence.recorder import EnvironmentMovedError
from infrastructure.store import ConfigStore
from infrastructure.store.bulk import BulkResult


def may_promote(grant: Grant, *, source: str, target: str) -> bool:
    """Whether ``grant`` passes the API's promote checks: the writer role on every area
    of ``target``, the reader role on every area of ``source``."""
    return grant.allows(Role.WRITER, target) and grant.allows(Role.READER, source)


def apply_promote(
    store: ConfigStore,
    grant: Grant,
    *,
    source: str,
    target: str,
    prune: bool,
    expected: int,
    digest: str,
    who: Provenance,
) -> BulkResult:
    """Promote ``source`` into ``target`` atomically if the plan is still the one shown
    (``digest``, computed at log position ``expected``). Raises
    :class:`PermissionDeniedError` (the API's checks, before anything is read),
    :class:`EnvironmentMovedError` when the plan changed or the target changed after
    ``expected`` (nothing written), and the store's errors."""
    env_for(target, grant, Role.WRITER)
    env_for(source, grant, Role.READER)
    fresh = store.promote(source, target, provenance=who, prune=prune, dry_run=True)
    if plan_digest(fresh, source=source, prune=prune) != digest:  # not a secret: plain ==
        raise EnvironmentMovedError(target, expected)
    # The store re-plans in its write transaction: a target that moved after the shown
    # plan (even since the check above) makes it refuse instead of writing another plan.
    return store.promote(source, target, provenance=who, prune=prune, expected_position=expected)
