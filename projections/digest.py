"""A fingerprint of what a reader has applied: which events, and so which version of
every entry.

Two readers at the same log position must have applied the same events; the digest
makes that comparable without shipping state around. It sums one hash per entry
version and one per event position (modulo 2**256), so an event updates it in constant
time, the order of loading does not matter, and an event skipped or applied twice
changes it even when a later version of the same entry hides it from the state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from projections.records import LogRecord

_MODULUS = 2**256


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest(), "big")


def _entry_term(entry_id: UUID, version: int) -> int:
    return _hash(b"v%s:%d" % (entry_id.bytes, version))


def _event_term(position: int) -> int:
    return _hash(b"p%d" % position)


class StateDigest:
    """The digest after the events at ``positions``, which left ``versions``."""

    def __init__(
        self, versions: Iterable[tuple[UUID, int]] = (), positions: Iterable[int] = ()
    ) -> None:
        self._versions: dict[UUID, int] = {}
        self._sum = sum(_event_term(p) for p in positions) % _MODULUS
        for entry_id, version in versions:
            self._set(entry_id, version)

    def _set(self, entry_id: UUID, version: int) -> None:
        old = self._versions.get(entry_id)
        if old is not None:
            self._sum -= _entry_term(entry_id, old)
        self._versions[entry_id] = version
        self._sum = (self._sum + _entry_term(entry_id, version)) % _MODULUS

    def apply(self, records: Iterable[LogRecord]) -> None:
        """Fold in events, in log order."""
        for record in records:
            self._sum = (self._sum + _event_term(record.position)) % _MODULUS
            self._set(record.entry_id, record.version)

    def hexdigest(self) -> str:
        """64 lowercase hex digits; equal histories give equal digests."""
        return f"{self._sum:064x}"
