"""Reads the console's frame and dashboard need, through the store's own queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from psycopg.sql import SQL

from domain.access import Grant, Role
from domain.address import SYSTEM_ENVIRONMENT
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.tables import fetch_all, table
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from projections.audit import AuditRow


@dataclass(frozen=True)
class EnvironmentSummary:
    """Live entries of one environment per area (of the areas the user sees), and how
    many entries are left out because their stored value cannot be served."""

    name: str
    counts: dict[str, int]
    problems: int
    last_changes: list[AuditRow]

    @property
    def total(self) -> int:
        """Live entries in all the areas shown."""
        return sum(self.counts.values())


def environment_names(store: ConfigStore) -> list[str]:
    """Every environment that has or had an entry, by name; never the system one (tokens
    and scheduled changes live there, shown on their own pages). Raises
    :class:`StorageError`."""
    store.fresh(["current"])
    query = SQL("SELECT DISTINCT environment FROM {} ORDER BY environment").format(
        table(store.index.datastore, "cc_current")
    )
    with storage_errors():
        rows = fetch_all(store.index.datastore, query, ())
    names = (str(row["environment"]) for row in rows)  # the pool answers dict rows
    return [name for name in names if name != SYSTEM_ENVIRONMENT]


def visible_environments(store: ConfigStore, grant: Grant) -> list[str]:
    """The environments where ``grant`` may read at least one area."""
    return [
        name for name in environment_names(store) if grant.allows(Role.READER, name, any_area=True)
    ]


def summary(
    store: ConfigStore, environment: str, grant: Grant, *, changes: int = 5
) -> EnvironmentSummary:
    """Entry counts per area of ``environment`` as ``GET /v1/envs/{env}/entries`` would
    list them for ``grant``, and its last ``changes`` changes as ``GET /v1/audit`` would.
    Raises :class:`StorageError`."""
    listing = store.listing(environment)
    counts = Counter(
        view.address.area for view in listing.items if grant.sees(environment, view.address.area)
    )
    problems = sum(1 for p in listing.problems if grant.sees(environment, p.area))
    query = AuditQuery(environment, limit=changes, areas=grant.visible_areas(environment))
    rows = [r for r in store.audit(query) if grant.sees(environment, r.area)]
    return EnvironmentSummary(environment, dict(sorted(counts.items())), problems, rows)
