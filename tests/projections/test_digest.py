"""The state digest: order-free, version-sensitive, incremental."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.entry import ConfigEntry
from projections.digest import StateDigest, digest_of
from projections.records import LogRecord

A, B = uuid.uuid4(), uuid.uuid4()


def _record(entry_id: uuid.UUID, version: int) -> LogRecord:
    event: ConfigEntry.Event = None  # type: ignore[assignment]  # the digest never reads it
    return LogRecord(version, entry_id, version, datetime.now(UTC), "e", "a", "k", event)


def test_equal_states_give_equal_digests_whatever_the_order() -> None:
    assert digest_of([(A, 3), (B, 1)]) == digest_of([(B, 1), (A, 3)])
    assert len(digest_of([(A, 3)])) == 64


def test_a_different_version_or_entry_changes_the_digest() -> None:
    base = digest_of([(A, 3), (B, 1)])
    assert digest_of([(A, 2), (B, 1)]) != base
    assert digest_of([(A, 3)]) != base
    assert digest_of([]) == "0" * 64


def test_applying_events_equals_loading_the_resulting_state() -> None:
    digest = StateDigest([(A, 1)])
    digest.apply([_record(A, 2), _record(B, 1), _record(A, 3)])
    assert digest.hexdigest() == digest_of([(A, 3), (B, 1)])
