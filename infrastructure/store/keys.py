"""Secret keys seen from the store: which key seals which current value, and ``rekey``.

``rekey`` re-seals every current secret that is not sealed with the current key (an
``enc:v1`` value, or one naming a retired key) by appending events with the same
plaintext: history is never rewritten, so old versions still need their key in the
ring (``CONDUIT_CONFIG_RETIRED_SECRET_KEYS``) to be revealed.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from psycopg.sql import SQL

from domain.address import SYSTEM_ENVIRONMENT
from domain.entry import Provenance
from domain.environment import Change, EntryState
from domain.errors import ConfigStoreError, SecretKeyError
from domain.secrets import NO_KEY_MESSAGE, get_path, sealed_places
from domain.stored import BrokenEntry, EntryProblem
from domain.values import JsonObject, json_diff, validate
from infrastructure.persistence.recorder import INDEX_TABLE
from infrastructure.persistence.tables import table
from infrastructure.store.base import storage_errors
from infrastructure.store.bulk import BulkResult, StoreBulk
from infrastructure.store.environment import EnvironmentView
from infrastructure.store.keyguard import GuardedKeyring, KeyRecord

#: How ``keys list`` names secrets sealed before key ids existed.
NO_KEY_ID = "v1"
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class KeyUsage:
    """One key id: whether the store recorded it (and retired it), whether this process
    holds it, and how many current secrets it seals."""

    key_id: str
    record: KeyRecord | None
    current: bool
    in_ring: bool
    values: int


@dataclass(frozen=True)
class KeysReport:
    """The keys of a store as this process sees them."""

    current_id: str
    keys: list[KeyUsage] = field(default_factory=list)
    #: Entries whose secrets could not be counted (their value breaks today's rules).
    problems: list[EntryProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Key ids (never keys): recorded, retired, current here, in this ring, and how
        many current secrets each seals."""
        return {
            "current": self.current_id,
            "keys": [_usage_json(usage) for usage in self.keys],
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(frozen=True)
class RekeyResult:
    """What ``rekey`` did to one environment (``secrets``: values re-sealed)."""

    result: BulkResult
    secrets: int
    #: Live entries holding a secret no key of this process opens: left as they are.
    skipped: list[EntryProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """What was (or would be) re-sealed in the environment."""
        result = self.result
        return {
            "environment": result.environment,
            "applied": result.applied,
            "base_position": result.base_position,
            "position": result.position,
            "secrets": self.secrets,
            "entries": [f"{c.area}/{c.key}" for c in result.changes],
            "skipped": [p.to_json() for p in self.skipped],
        }


def _usage_json(usage: KeyUsage) -> dict[str, Any]:
    record = usage.record
    retired = record.retired_at if record else None
    return {
        "key_id": usage.key_id,
        "current": usage.current,
        "in_ring": usage.in_ring,
        "recorded": record is not None,
        "first_seen": record.first_seen.isoformat() if record else None,
        "recorded_by": record.recorded_by if record else None,
        "retired_at": retired.isoformat() if retired else None,
        "values": usage.values,
    }


@dataclass(frozen=True)
class StaleSecret:
    """A current secret not sealed with this process's current key (``rekey`` would
    re-seal it): where it is and the key id it names (``v1``: none)."""

    environment: str
    area: str
    key: str
    field: str
    key_id: str
    in_ring: bool

    @property
    def entry(self) -> str:
        """``env:area/key`` (as verify names entries)."""
        return f"{self.environment}:{self.area}/{self.key}"


class StoreKeys(StoreBulk):
    """Key usage and ``rekey``. Raise :class:`SecretKeyError` (no key, or a current key
    the store does not know) or :class:`StorageError`.

    ``rekey`` seals through the guarded keyring and asks the store once more that its
    key is current after sealing, right before the write. The check and the append are
    still two transactions: a rotation committed in the moment between them leaves the
    re-sealed secrets under the key it retires, exactly as a rotation just after the
    write would (still open with the retired key, listed by ``verify``, re-sealed by the
    next ``rekey``)."""

    def keyring(self) -> GuardedKeyring:
        """This process's keyring; :class:`SecretKeyError` without a key."""
        if not isinstance(self.codec, GuardedKeyring):
            raise SecretKeyError(NO_KEY_MESSAGE)
        return self.codec

    def secret_environments(self) -> list[str]:
        """Every environment that ever had an entry (not the system one)."""
        index = table(self.app.datastore, INDEX_TABLE)
        query = SQL("SELECT DISTINCT environment FROM {} ORDER BY environment").format(index)
        with storage_errors(), self.app.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(query)
            rows = cur.fetchall()
        names = [str(r["environment"] if isinstance(r, dict) else r[0]) for r in rows]
        return [name for name in names if name != SYSTEM_ENVIRONMENT]

    def key_usage(self, environment: str | None = None) -> KeysReport:
        """The recorded keys, the keys of this ring and every key that seals a current
        secret (of one environment, or all), with counts."""
        ring = self.keyring()
        counts: Counter[str] = Counter()
        problems: list[EntryProblem] = []
        for env in [environment] if environment else self.secret_environments():
            view = self.environment_at(env)
            for _, _, sealed in self._secrets(view, problems):
                counts[ring.key_id_of(sealed) or NO_KEY_ID] += 1
        records = {r.key_id: r for r in ring.known.records()}
        ids = [*records, *(i for i in ring.ids if i not in records)]
        ids += sorted(i for i in counts if i not in ids)
        usage = [
            KeyUsage(i, records.get(i), i == ring.current_id, i in ring.ids, counts[i]) for i in ids
        ]
        return KeysReport(ring.current_id, usage, problems)

    def stale_secrets(self, environment: str | None = None) -> list[StaleSecret]:
        """Every current secret (of one environment, or all) sealed under another key
        than the current one, or as ``enc:v1``: what ``verify`` lists and ``rekey``
        re-seals. ``in_ring`` says whether this process can still open it."""
        ring = self.keyring()
        found = []
        for env in [environment] if environment else self.secret_environments():
            for entry, path, sealed in self._secrets(self.environment_at(env), []):
                kid = ring.key_id_of(sealed)
                if kid == ring.current_id:
                    continue
                where = ".".join(str(p) for p in path)
                in_ring = kid in ring.ids if kid else _opens(ring, sealed)
                found.append(
                    StaleSecret(env, entry.area, entry.key, where, kid or NO_KEY_ID, in_ring)
                )
        return sorted(found, key=lambda s: (s.environment, s.area, s.key, s.field))

    def rekey(
        self,
        environment: str,
        *,
        provenance: Provenance,
        dry_run: bool = False,
        new_key: bool = False,
    ) -> RekeyResult:
        """Re-seal every current secret of ``environment`` not sealed with the current
        key, in one atomic write (``dry_run``: only plan it). ``new_key`` records the
        current key as the store's new one first."""
        ring = self.keyring()
        if not dry_run:
            ring.require_known(new_key=new_key)
        resealed: list[int] = []
        skipped: list[EntryProblem] = []

        def planner(view: EnvironmentView) -> list[Change]:
            resealed.clear()
            skipped.clear()
            # A dry run writes nothing, so it may plan with a key the store does not know.
            seal = ring.keyring.seal if dry_run else ring.seal
            steps = []
            for entry, paths in self._stale(view, ring):
                step = _resealed(entry, paths, ring, seal, skipped)
                if step is not None:
                    steps.append(step)
                    resealed.append(len(paths))
            if steps and not dry_run:
                # Asked again at each attempt, once sealed, right before the write: a
                # rotation since the check above must not leave all this under a key
                # the store has just retired (see the class docstring for what is left).
                ring.require_known(fresh=True)
            return steps

        result = self._run(environment, planner, provenance, None, dry_run)
        return RekeyResult(result, sum(resealed), list(skipped))

    def _stale(
        self, view: EnvironmentView, ring: GuardedKeyring
    ) -> list[tuple[EntryState, list[Path]]]:
        """Live entries with secrets not sealed with the current key, and where."""
        stale: dict[tuple[str, str], tuple[EntryState, list[Path]]] = {}
        for entry, path, sealed in self._secrets(view, []):
            if ring.key_id_of(sealed) != ring.current_id:
                stale.setdefault((entry.area, entry.key), (entry, []))[1].append(path)
        return [stale[name] for name in sorted(stale)]

    def _secrets(
        self, view: EnvironmentView, problems: list[EntryProblem]
    ) -> Iterator[tuple[EntryState, Path, str]]:
        """Each sealed secret of each live entry, by the area's schema."""
        for entry in view.state.values():
            if entry.deleted or isinstance(entry, BrokenEntry):
                continue
            try:
                model = self.area_model(view.environment, entry.area)
                limits = self.limits_for(view.environment)
                instance = validate(model, entry.stored, key=entry.key, limits=limits)
            except ConfigStoreError as exc:
                problems.append(EntryProblem(entry.area, entry.key, str(exc)))
                continue
            for path, sealed in sealed_places(instance, entry.stored):
                yield entry, path, sealed


def _resealed(
    entry: EntryState,
    paths: list[Path],
    ring: GuardedKeyring,
    seal: Callable[[str], str],
    skipped: list[EntryProblem],
) -> Change | None:
    """The step that re-seals an entry's stale secrets (same plaintext) with ``seal``,
    or ``None`` (reported in ``skipped``) when one of them does not open."""
    value: JsonObject = copy.deepcopy(entry.stored)
    for path in paths:
        try:
            plain = ring.open(get_path(entry.stored, path))
        except SecretKeyError as exc:
            where = ".".join(str(p) for p in path)
            skipped.append(EntryProblem(entry.area, entry.key, f"secret {where}: {exc}"))
            return None
        _put(value, path, seal(plain))
    changes = json_diff(entry.stored, value)
    return Change(entry.area, entry.key, "update", entry.version, changes, value)


def _opens(ring: GuardedKeyring, sealed: str) -> bool:
    try:
        ring.open(sealed)
    except SecretKeyError:
        return False
    return True


def _put(document: JsonObject, path: Path, value: str) -> None:
    node: object = document
    for part in path[:-1]:
        node = node[part]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
