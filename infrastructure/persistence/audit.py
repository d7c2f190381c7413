"""The links of the tamper-evident chain, computed the way ``cc_append_v2`` does.

A link is ``H(previous link || canonical bytes of the event)``; the first link's previous
is 32 zero bytes. ``H`` is SHA-256 (a plain link) or HMAC-SHA256 with the audit key (a
keyed link, which only a holder of the key can recompute).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from infrastructure.errors import AuditKeyError

ZERO_LINK = bytes(32)
_KEY_ID_LABEL = b"conduit-config audit key id"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BLOCK = 64  # SHA-256's block size: the HMAC key is padded to it


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly as ``(extract(epoch FROM t) * 1000000)::bigint``
    (integer arithmetic: a float would lose the last digit of some instants)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical(
    position: int, entry_id: UUID, version: int, *, recorded_at: datetime, topic: str, state: bytes
) -> bytes:
    """The bytes of one event a link covers: int8 position, uuid, int8 version, int8
    microseconds, int4 topic length, topic (UTF-8), state."""
    name = topic.encode()
    return (
        struct.pack(">q", position)
        + entry_id.bytes
        + struct.pack(">qqi", version, epoch_micros(recorded_at), len(name))
        + name
        + state
    )


def plain_link(previous: bytes, event: bytes) -> bytes:
    """A plain link: SHA-256 of the previous link and the event's canonical bytes."""
    return hashlib.sha256(previous + event).digest()


@dataclass(frozen=True)
class AuditKey:
    """The audit key: its id (not secret) and its HMAC links. ``repr`` hides the key."""

    key: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> AuditKey:
        """From unpadded base64url (as passed through the eventsourcing environment)."""
        return cls(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    def to_text(self) -> str:
        """Unpadded base64url, the inverse of :meth:`from_text`."""
        return base64.urlsafe_b64encode(self.key).rstrip(b"=").decode()

    @property
    def id(self) -> str:
        """First 16 hex digits of HMAC-SHA256(key, "conduit-config audit key id")."""
        return hmac.new(self.key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def pads(self) -> tuple[bytes, bytes]:
        """HMAC's inner and outer padded keys: what ``cc_append_v2`` hashes with."""
        padded = self.key.ljust(_BLOCK, b"\0")
        return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)

    def link(self, previous: bytes, event: bytes) -> bytes:
        """A keyed link: HMAC-SHA256 of the previous link and the canonical bytes."""
        return hmac.new(self.key, previous + event, hashlib.sha256).digest()


def key_refused(message: str, *, held: str | None) -> AuditKeyError:
    """The error of an append ``cc_append_v2`` refused because the head link is keyed with
    another key than ``held`` (the ids are in ``message``; key ids are not secret)."""
    found = re.search(r"audit key ([0-9a-f]{16})", message)
    chained = found.group(1) if found else "?"
    mine = f"this process has audit key {held}" if held else "no audit key is set"
    return AuditKeyError(
        f"the log is chained with audit key {chained} and {mine}: set"
        " CONDUIT_CONFIG_AUDIT_KEY to that key (nothing was written)"
    )
