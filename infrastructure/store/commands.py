"""Write side of the store: set, patch, rollback, delete, undelete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.address import Address
from domain.entry import ConfigEntry, Provenance
from domain.errors import (
    ConfigStoreError,
    EntryStateError,
    InvalidValueError,
    NotFoundError,
    VersionConflictError,
)
from domain.secrets import seal_secrets
from domain.values import json_diff, merge_patch, validate, validate_sparse
from infrastructure.retry import WRITE_RACE
from infrastructure.store.base import StoreBase, storage_errors
from infrastructure.store.keyguard import require_key_for_keeps, require_openable
from infrastructure.store.views import WriteResult

Decision = Callable[[ConfigEntry | None], ConfigEntry]


class StoreCommands(StoreBase):
    """Commands. Each raises :class:`InvalidValueError`, :class:`VersionConflictError`,
    :class:`NotFoundError`, :class:`EntryStateError`, :class:`SecretKeyError` or
    :class:`StorageError`; on any error nothing is appended.
    """

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
        a guess was right)."""
        model = self.model_for(address)
        limits = self.limits_for(address.environment)

        def decide(entry: ConfigEntry | None) -> ConfigEntry:
            instance, sparse = validate_sparse(model, value, key=address.key, limits=limits)
            previous = entry.value if entry else None
            require_key_for_keeps(self.codec, instance, sparse)
            seal_secrets(
                instance, sparse, previous, self.codec, limits=limits, may_reveal=may_reveal
            )
            if entry is None:
                return ConfigEntry.create(address, sparse, provenance, model.schema_version)
            entry.replace(sparse, provenance, model.schema_version)
            return entry

        # A new whole value repairs an entry whose stored events cannot all be decoded.
        return self._write(address, expected_version, decide, repairable=True)

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
        Secrets in plaintext as for :meth:`set`."""
        model = self.model_for(address)
        limits = self.limits_for(address.environment)
        if not isinstance(merge, dict):
            raise InvalidValueError.single("patch", "must be a JSON object", area=address.area)

        def decide(entry: ConfigEntry | None) -> ConfigEntry:
            entry = _live(entry, address)
            merged = merge_patch(entry.value, merge)  # what is validated is the result
            instance, sparse = validate_sparse(model, merged, key=address.key, limits=limits)
            require_key_for_keeps(self.codec, instance, sparse)
            seal_secrets(
                instance, sparse, entry.value, self.codec, limits=limits, may_reveal=may_reveal
            )
            entry.change(sparse, provenance, model.schema_version)
            return entry

        return self._write(address, expected_version, decide)

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
        (``changed`` false) when the entry already holds that value."""
        model = self.model_for(address)
        target = self._resolve_target(address, to_version, to_time)

        def decide(entry: ConfigEntry | None) -> ConfigEntry:
            entry = _present(entry, address)
            if target > entry.version:
                raise NotFoundError(
                    f"{address} has no version {target} (latest is {entry.version})"
                )
            old = self.require(address, target)
            if old.deleted:
                raise EntryStateError(f"version {target} of {address} is a deleted state")
            if not entry.deleted and not json_diff(entry.value, old.value):
                return entry  # already that value: append nothing, like an unchanged set
            limits = self.limits_for(address.environment)
            instance = validate(model, old.value, key=address.key, limits=limits)
            require_openable(self.codec, instance, old.value)  # never back to an unreadable key
            entry.roll_back(target, old.value, provenance, model.schema_version)
            return entry

        return self._write(address, expected_version, decide, repairable=True)

    def delete(
        self, address: Address, *, provenance: Provenance, expected_version: int | None = None
    ) -> WriteResult:
        """Mark an entry deleted (its history stays)."""
        model = self.model_for(address)

        def decide(entry: ConfigEntry | None) -> ConfigEntry:
            entry = _live(entry, address)
            entry.delete(provenance, model.schema_version)
            return entry

        return self._write(address, expected_version, decide)

    def undelete(
        self, address: Address, *, provenance: Provenance, expected_version: int | None = None
    ) -> WriteResult:
        """Restore a deleted entry with its last value; :class:`InvalidValueError` when
        today's rules refuse that value (nothing appended)."""
        model = self.model_for(address)

        def decide(entry: ConfigEntry | None) -> ConfigEntry:
            entry = _present(entry, address)
            if entry.deleted:
                # The last value may break rules made stricter since (schema or limits).
                limits = self.limits_for(address.environment)
                validate(model, entry.value, key=address.key, limits=limits)
            entry.restore(provenance, model.schema_version)
            return entry

        return self._write(address, expected_version, decide)

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
        if entry is None and expected not in (None, 0):
            raise VersionConflictError(str(address), expected=expected, current=0)
        if entry is not None:
            entry.check_version(expected)
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


def _present(entry: ConfigEntry | None, address: Address) -> ConfigEntry:
    if entry is None:
        raise NotFoundError(f"{address} not found in environment {address.environment!r}")
    return entry


def _live(entry: ConfigEntry | None, address: Address) -> ConfigEntry:
    entry = _present(entry, address)
    entry.check_live()
    return entry


def _kept_losing(address: Address) -> VersionConflictError:
    """The error when other writers won every attempt to write ``address``."""
    return VersionConflictError(
        str(address),
        expected=None,
        current=None,
        detail=f"{address}: other writers kept winning after {WRITE_RACE.attempts} attempts; retry",
    )
