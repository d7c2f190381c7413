"""A fingerprint of which version of every entry a reader has applied.

Two readers at the same log position must have applied the same events; the digest
makes that comparable without shipping state around. It is a sum of one hash per entry
(modulo 2**256), so an event updates it in constant time and the order in which entries
were loaded does not matter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from projections.records import LogRecord

_MODULUS = 2**256


def _term(entry_id: UUID, version: int) -> int:
    return int.from_bytes(hashlib.sha256(b"%s:%d" % (entry_id.bytes, version)).digest(), "big")


class StateDigest:
    """The digest of ``{entry: version}`` after the events applied so far."""

    def __init__(self, versions: Iterable[tuple[UUID, int]] = ()) -> None:
        self._versions: dict[UUID, int] = {}
        self._sum = 0
        for entry_id, version in versions:
            self._set(entry_id, version)

    def _set(self, entry_id: UUID, version: int) -> None:
        old = self._versions.get(entry_id)
        if old is not None:
            self._sum -= _term(entry_id, old)
        self._versions[entry_id] = version
        self._sum = (self._sum + _term(entry_id, version)) % _MODULUS

    def apply(self, records: Iterable[LogRecord]) -> None:
        """Fold in events, in log order."""
        for record in records:
            self._set(record.entry_id, record.version)

    def hexdigest(self) -> str:
        """64 lowercase hex digits; equal states give equal digests."""
        return f"{self._sum:064x}"


def digest_of(versions: Iterable[tuple[UUID, int]]) -> str:
    """The digest of a state given as ``(entry, version)`` pairs."""
    return StateDigest(versions).hexdigest()
