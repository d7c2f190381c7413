"""Write side of the store: set, patch, rollback, delete, undelete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain import decisions
from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from domain.errors import ConfigStoreError, InvalidValueError, NotFoundError, VersionConflictError
from infrastructure.retry import WRITE_RACE
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.keyguard import require_key_for_keeps
from infrastructure.store.views import WriteResult

Decision = Callable[[ConfigEntry | None], ConfigEntry]


class StoreCommands(StoreBase):
    """Commands. Each raises :class:`InvalidValueError`, :class:`VersionConflictError`,
    :class:`NotFoundError`, :class:`EntryStateError`, :class:`SecretKeyError` or
    :class:`StorageError`; on any error nothing is appended.
    """

    def decision_rules(self, address: Address) -> decisions.DecisionRules:
        """What deciding a command on ``address`` needs: its area's schema (raises
        :class:`InvalidAddressError` or :class:`AreaNotFoundError`), its environment's
        limits, this store's codec, and the check that a kept secret is written only
        by a process whose key the store knows."""
        return decisions.DecisionRules(
            model=self.model_for(address),
            limits=self.limits_for(address.environment),
            codec=self.codec,
            keeps_check=partial(require_key_for_keeps, self.codec),
        )

    def set(
        self,
        address: Address,
        value: Any,
        *,
        provenance: Provenance,
        expected_version: int | None = None,
        may_reveal: bool = False,
    ) -> WriteResult:
        """Replace the stored fields of an entry (creating it if needed). A plaintext
        secret is sealed anew, so it is a change even when it equals the stored one,
        unless the caller ``may_reveal`` secrets (else ``changed`` would answer whether
        a guess was right). See :func:`~domain.decisions.decide_set`."""
        rules = self.decision_rules(address)
        return self._write(
            address,
            expected_version,
            lambda entry: decisions.decide_set(
                entry, address, value, who=provenance, rules=rules, may_reveal=may_reveal
            ),
            # A new whole value repairs an entry whose stored events cannot all be decoded.
            repairable=True,
        )

    def patch(
        self,
        address: Address,
        merge: Any,
        *,
        provenance: Provenance,
        expected_version: int | None = None,
        may_reveal: bool = False,
    ) -> WriteResult:
        """Merge an RFC 7396 patch into the stored fields; ``null`` restores a default.
        Secrets in plaintext as for :meth:`set`. See :func:`~domain.decisions.decide_patch`."""
        rules = self.decision_rules(address)
        # Refused before the entry is read: a malformed request costs no load.
        decisions.require_merge_object(merge, address)
        return self._write(
            address,
            expected_version,
            lambda entry: decisions.decide_patch(
                entry, address, merge, who=provenance, rules=rules, may_reveal=may_reveal
            ),
        )

    def rollback(
        self,
        address: Address,
        *,
        provenance: Provenance,
        to_version: int | None = None,
        to_time: datetime | None = None,
        expected_version: int | None = None,
    ) -> WriteResult:
        """Append a new version equal to an earlier one (by version or by time); nothing
        (``changed`` false) when the entry already holds that value. See
        :func:`~domain.decisions.decide_rollback`."""
        rules = self.decision_rules(address)
        target = self._resolve_target(address, to_version, to_time)
        return self._write(
            address,
            expected_version,
            lambda entry: decisions.decide_rollback(
                entry,
                address,
                target,
                earlier=lambda version: self.require(address, version),
                who=provenance,
                rules=rules,
            ),
            repairable=True,
        )

    def delete(
        self, address: Address, *, provenance: Provenance, expected_version: int | None = None
    ) -> WriteResult:
        """Mark an entry deleted (its history stays)."""
        rules = self.decision_rules(address)
        return self._write(
            address,
            expected_version,
            lambda entry: decisions.decide_delete(entry, address, who=provenance, rules=rules),
        )

    def undelete(
        self, address: Address, *, provenance: Provenance, expected_version: int | None = None
    ) -> WriteResult:
        """Restore a deleted entry with its last value; :class:`InvalidValueError` when
        today's rules refuse that value (nothing appended). See
        :func:`~domain.decisions.decide_undelete`."""
        rules = self.decision_rules(address)
        return self._write(
            address,
            expected_version,
            lambda entry: decisions.decide_undelete(entry, address, who=provenance, rules=rules),
        )

    def _resolve_target(
        self, address: Address, to_version: int | None, to_time: datetime | None
    ) -> int:
        if (to_version is None) == (to_time is None):
            raise InvalidValueError.single("target", "give exactly one of to_version, to_time")
        if to_version is not None:
            if to_version < 1:
                raise InvalidValueError.single("to_version", "must be >= 1")
            return to_version
        assert to_time is not None
        with storage_errors():
            row = self.index.version_at(address.entry_id, to_time)
        if row is None:
            raise NotFoundError(f"{address} did not exist at {to_time.isoformat()}")
        return row.version

    def _write(
        self, address: Address, expected: int | None, decide: Decision, *, repairable: bool = False
    ) -> WriteResult:
        trust_cache = True
        for _ in WRITE_RACE.tries():  # again after a lost race or an untrusted cache
            entry, cached = self._current(
                address, expected, trust_cache=trust_cache, repairable=repairable
            )
            try:
                entry = self._decide(address, entry, expected, decide)
            except ConfigStoreError:
                if not cached:
                    raise
                # Only an append proves a cached state current; a refusal must not rest
                # on one another process may have outdated.
                trust_cache = False
                self.entries.drop(address.entry_id)
                continue
            if not entry.pending_events:
                if cached:
                    trust_cache = False  # "unchanged" too, for the same reason
                    continue
                return self._unchanged(address, entry)
            result = self._append(address, entry, expected)
            if result is not None:
                return result
        raise _kept_losing(address)

    def _append(
        self, address: Address, entry: ConfigEntry, expected: int | None
    ) -> WriteResult | None:
        """Save the entry's new events; ``None`` when another writer won the race (try
        again), or :class:`VersionConflictError` then when the caller ``expected`` a
        version. :class:`StorageError` when the database fails."""
        try:
            with storage_errors():
                recordings = self.app.save(entry, addresses={entry.id: address})
        except IntegrityError:
            self.entries.drop(address.entry_id)
            if expected is not None:
                current = self.load(address)
                raise VersionConflictError(
                    str(address), expected=expected, current=current.version if current else 0
                ) from None
            return None
        self.entries.put(entry)
        position = recordings[-1].notification.id
        return WriteResult(address, entry.version, position, changed=True)

    @staticmethod
    def _decide(
        address: Address, entry: ConfigEntry | None, expected: int | None, decide: Decision
    ) -> ConfigEntry:
        decisions.check_expected(entry, address, expected)
        return decide(entry)

    def _current(
        self, address: Address, expected: int | None, *, trust_cache: bool, repairable: bool
    ) -> tuple[ConfigEntry | None, bool]:
        """The entry to decide on, and whether it came from the cache: the cached state
        when it can be trusted, else the database's (a cached state that disagrees with
        ``expected`` may be stale)."""
        cached = self.entries.get(address) if trust_cache else None
        if cached is not None and (expected is None or expected == cached.version):
            self.refuse_quarantined(address)  # found broken since it was cached
            return cached, True
        entry = self.load(address, repairable=repairable)
        if entry is not None and not repairable:  # a repairable one may be broken
            self.entries.put(entry)
        return entry, False

    def _unchanged(self, address: Address, entry: ConfigEntry) -> WriteResult:
        with storage_errors():
            row = self.index.row(entry.id, entry.version)
        position = row.position if row else 0
        return WriteResult(address, entry.version, position, changed=False)


def _kept_losing(address: Address) -> VersionConflictError:
    """The error when other writers won every attempt to write ``address``."""
    return VersionConflictError(
        str(address),
        expected=None,
        current=None,
        detail=f"{address}: other writers kept winning after {WRITE_RACE.attempts} attempts; retry",
    )
