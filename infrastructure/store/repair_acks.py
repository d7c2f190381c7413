"""The chain breaks a repair acknowledges, bound to what it saw, so that a row written into
``cc_repairs`` behind the store's back cannot hide a break.

Each acknowledged break records its position, the chain's problem there and a
*fingerprint* of the log at that position (event, index time, link): the same position
tampered with again afterwards no longer matches, and is a problem again. A repair run
with the audit key signs its breaks (HMAC-SHA256 with that key); once the chain has keyed
links only signed acknowledgements count, so acknowledging a break needs the audit key just
as relinking the chain does. On a chain without keyed links anyone who can write the
database can relink it anyway, and an unsigned acknowledgement is as good as the chain.

What a repair never acknowledges: a head recorded earlier that the log no longer has, a
downgrade to plain links, a keyed store's plain rewrite, links it could not check.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Any

from psycopg.sql import SQL, Identifier

from infrastructure.persistence.audit import AuditKey, epoch_micros
from infrastructure.persistence.recorder import EVENTS_TABLE, INDEX_TABLE
from infrastructure.store.base import StoreBase
from infrastructure.store.chain_check import KEY, ChainFinding

_LABEL = b"conduit-config repair acknowledgement\0"
#: Chain problems no repair acknowledges (their start): they say the chain itself was
#: rewritten or truncated, or could not be checked.
NEVER_ACKNOWLEDGED = (
    "link differs from the recorded head",
    "no link at the recorded head",
    "log is shorter than the recorded head",
    "plain link after keyed links",
    f"{KEY} is set but no link is keyed",
    "cannot check keyed links",
    "... and",
)


def acknowledgeable(problem: str) -> bool:
    """Whether a repair may acknowledge a chain problem (text without ``chain: ``)."""
    return not problem.startswith(NEVER_ACKNOWLEDGED)


@dataclass(frozen=True)
class Acknowledged:
    """One acknowledged break: position, the chain's problem and the log's fingerprint."""

    position: int
    problem: str
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        """``{position, problem, fingerprint}``."""
        return {"position": self.position, "problem": self.problem, "fingerprint": self.fingerprint}


_ROWS = SQL(
    "SELECT p.position, e.originator_id, e.originator_version, e.topic, e.state,"
    " i.recorded_at, c.hash, c.key_id FROM unnest(%s::bigint[]) AS p(position)"
    " LEFT JOIN {s}.{e} e ON e.notification_id = p.position"
    " LEFT JOIN {s}.cc_chain c ON c.position = p.position"
    " LEFT JOIN {s}.{i} i ON i.position = p.position"
)


def fingerprints(store: StoreBase, positions: list[int]) -> dict[int, str]:
    """Position -> SHA-256 (hex) of what the log holds there: the event, its index time and
    its link (each part length-prefixed; an absent part differs from an empty one).
    Raises eventsourcing's database errors."""
    if not positions:
        return {}
    query = _ROWS.format(
        s=Identifier(store.app.datastore.schema),
        e=Identifier(EVENTS_TABLE),
        i=Identifier(INDEX_TABLE),
    )
    with store.app.datastore.get_connection() as conn, conn.cursor() as cur:
        cur.execute(query, (sorted(set(positions)),))
        return {int(r["position"]): _digest(r) for r in cur.fetchall()}


def _digest(row: Any) -> str:
    parts: list[bytes | None] = [
        row["originator_id"].bytes if row["originator_id"] is not None else None,
        _int(row["originator_version"]),
        row["topic"].encode() if row["topic"] is not None else None,
        bytes(row["state"]) if row["state"] is not None else None,
        _int(epoch_micros(row["recorded_at"])) if row["recorded_at"] is not None else None,
        bytes(row["hash"]) if row["hash"] is not None else None,
        row["key_id"].encode() if row["key_id"] is not None else None,
    ]
    digest = hashlib.sha256(struct.pack(">q", int(row["position"])))
    for part in parts:
        digest.update(b"\xff" if part is None else struct.pack(">I", len(part)) + part)
    return digest.hexdigest()


def _int(value: int | None) -> bytes | None:
    return struct.pack(">q", value) if value is not None else None


def _mac(key: AuditKey, breaks: list[Acknowledged]) -> str:
    message = _LABEL + b"".join(
        struct.pack(">qI", b.position, len(b.problem.encode()))
        + b.problem.encode()
        + bytes.fromhex(b.fingerprint)
        for b in breaks
    )
    return hmac.new(key.key, message, hashlib.sha256).hexdigest()


def acknowledge(
    store: StoreBase, findings: list[ChainFinding], audit_key: bytes | None
) -> dict[str, Any]:
    """The ``acknowledgement`` a repair records for the chain's ``findings`` (those a repair
    may acknowledge), signed with the audit key when there is one. Raises
    eventsourcing's database errors."""
    chosen = [f for f in findings if acknowledgeable(f.problem)]
    found = fingerprints(store, [f.position for f in chosen])
    breaks = [Acknowledged(f.position, f.problem, found[f.position]) for f in chosen]
    key = AuditKey(audit_key) if audit_key is not None else None
    return {
        "breaks": [b.to_json() for b in breaks],
        "key_id": key.id if key else None,
        "mac": _mac(key, breaks) if key else None,
    }


def honoured(record: Any, *, key: AuditKey | None, keyed: bool) -> list[Acknowledged]:
    """The breaks of a recorded ``acknowledgement`` that may count: all of them for a
    chain without keyed links; for a keyed one, only when the record is signed with the
    audit key ``key`` (fingerprints are compared by the caller). A malformed record
    counts for nothing."""
    try:
        breaks = [
            Acknowledged(int(b["position"]), str(b["problem"]), str(b["fingerprint"]))
            for b in record.get("breaks", [])
        ]
        if keyed and (
            key is None
            or record.get("key_id") != key.id
            or not hmac.compare_digest(str(record.get("mac")), _mac(key, breaks))
        ):
            return []
    except (AttributeError, KeyError, TypeError, ValueError):
        return []
    return [b for b in breaks if acknowledgeable(b.problem)]
