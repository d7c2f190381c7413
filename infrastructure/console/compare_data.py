"""Reads behind the console's compare page: another environment against this one (the
promote preview, as ``promote --dry-run`` computes it), this environment at two points
(as ``diff-env``), and two versions of one entry. Each is allowed exactly when the HTTP
API's read of the same data is, through the API's own checks: a whole environment
(``env_for``: the reader role on every area, as ``GET /v1/envs/{env}/diff`` and the
source of ``POST /v1/envs/{env}/promote``), one entry (the reader role on its area, as
``GET .../entries/{area}/{key}/diff``). Values come redacted from the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from domain import parsing
from domain.access import Grant, Role
from domain.address import Address
from domain.entry import Provenance
from domain.environment import Change
from domain.parsing import MalformedInputError
from domain.stored import EntryProblem
from domain.values import canonical_json
from infrastructure.console.diffops import AreaRows, env_rows
from infrastructure.console.history_data import (
    VersionDiff,
    current_entry,
    version_diff,
    version_param,
)
from infrastructure.http.environments import env_for
from infrastructure.store import ConfigStore
from infrastructure.store.bulk import BulkResult

#: The compare page's tabs: environment vs environment, two points, two versions.
MODES = ("envs", "points", "versions")
_TRUE, _FALSE = frozenset({"on", "true", "1"}), frozenset({"", "off", "false", "0"})


@dataclass(frozen=True)
class EnvComparison:
    """Changes grouped by area, the entries left out (their value cannot be served), and
    the log position the comparison was computed at (``None``: not known)."""

    areas: list[AreaRows] = field(default_factory=list)
    problems: list[EntryProblem] = field(default_factory=list)
    position: int | None = None
    #: A promote preview's :func:`plan_digest` (``""`` for other comparisons).
    digest: str = ""

    @property
    def total(self) -> int:
        """Entries that differ."""
        return sum(len(area.entries) for area in self.areas)


def mode_param(text: str | None) -> str:
    """The tab (default ``envs``); raises :class:`MalformedInputError` for another."""
    if text is None or text == "":
        return MODES[0]
    if text not in MODES:
        raise MalformedInputError("mode", f"must be one of {', '.join(MODES)}")
    return text


def flag_param(text: str | None, *, name: str) -> bool:
    """A checkbox (``on``) or ``true``/``false``; raises :class:`MalformedInputError`."""
    if text is None or text.lower() in _FALSE:
        return False
    if text.lower() in _TRUE:
        return True
    raise MalformedInputError(name, "must be on or off")


def compares_environments(grant: Grant, env: str) -> bool:
    """Whether ``grant`` may compare ``env`` as a whole (at two points, or against
    another environment it reads as a whole): the reader role on every area of it."""
    return grant.allows(Role.READER, env)


def _seen(grant: Grant, changes: list[Change], *environments: str) -> list[Change]:
    # Whole environments are read only with every area readable (env_for); this keeps
    # an area the grant does not see out all the same (the system one, for non-admins).
    return [c for c in changes if all(grant.sees(env, c.area) for env in environments)]


def promote_preview(
    store: ConfigStore,
    grant: Grant,
    *,
    source: str,
    target: str,
    prune: bool,
    who: Provenance,
) -> EnvComparison:
    """What promoting ``source`` into ``target`` would change (a dry run: nothing is
    written). Raises :class:`PermissionDeniedError` unless ``grant`` reads every area
    of both (checked before the store is asked, so nothing of an environment the grant
    does not read shows, not even whether it exists), :class:`InvalidAddressError`,
    and the store's errors (the same environment, a source without entries)."""
    env_for(target, grant, Role.READER)
    env_for(source, grant, Role.READER)
    result = store.promote(source, target, provenance=who, prune=prune, dry_run=True)
    changes = _seen(grant, result.changes, source, target)
    skipped = [p for p in result.skipped if grant.sees(source, p.area)]
    digest = plan_digest(result, source=source, prune=prune)
    return EnvComparison(env_rows(changes), skipped, result.base_position, digest)


def plan_digest(result: BulkResult, *, source: str, prune: bool) -> str:
    """A digest of a promote's plan as the page shows it (its steps, redacted, with the
    target versions they start from, and the entries left out): equal digests, the same
    plan. Positions are left out: other environments' writes move them."""
    plan = {
        "source": source,
        "target": result.environment,
        "prune": prune,
        "changes": [change.to_json() for change in result.changes],
        "skipped": [problem.to_json() for problem in result.skipped],
    }
    return hashlib.sha256(canonical_json(plan)).hexdigest()


def points_diff(
    store: ConfigStore, grant: Grant, env: str, before: str, after: str
) -> EnvComparison:
    """What changed in ``env`` from ``before`` to ``after`` (each a time, a position, a
    snapshot name or ``now``), as ``GET /v1/envs/{env}/diff``. Raises
    :class:`PermissionDeniedError` unless ``grant`` reads every area of ``env`` (as
    that endpoint), :class:`MalformedInputError`, :class:`NotFoundError` (no such
    snapshot or position)."""
    env_for(env, grant, Role.READER)
    start = parsing.point(before, name="from")
    end = parsing.point(after or "now", name="to")
    diff = store.diff_environment(env, start, end)
    problems = [p for p in diff.problems if grant.sees(env, p.area)]
    return EnvComparison(env_rows(_seen(grant, diff.changes, env)), problems)


def entry_versions(
    store: ConfigStore, grant: Grant, address: Address, left: str | None, right: str | None
) -> VersionDiff:
    """Two versions of one entry side by side (default: the last change). Raises
    :class:`PermissionDeniedError`, :class:`NotFoundError`, :class:`MalformedInputError`."""
    grant.require(Role.READER, address.environment, address.area)
    latest = current_entry(store, address).version
    to = version_param(right, name="v2", latest=latest) or latest
    start = version_param(left, name="v1", latest=latest) or max(1, to - 1)
    return version_diff(store, address, start, to)
