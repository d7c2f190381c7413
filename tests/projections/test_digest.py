"""The state digest: order-free, sensitive to versions and to every event applied."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.entry import ConfigEntry
from projections.digest import StateDigest
from projections.records import LogRecord

A, B = uuid.uuid4(), uuid.uuid4()


def _record(position: int, entry_id: uuid.UUID, version: int) -> LogRecord:
    event: ConfigEntry.Event = None  # type: ignore[assignment]  # the digest never reads it
    return LogRecord(position, entry_id, version, datetime.now(UTC), "e", "a", "k", event)


def digest_of(versions: list[tuple[uuid.UUID, int]], positions: list[int]) -> str:
    return StateDigest(versions, positions).hexdigest()


def _applied(*records: LogRecord) -> str:
    digest = StateDigest()
    digest.apply(records)
    return digest.hexdigest()


def test_equal_histories_give_equal_digests_whatever_the_order_of_loading() -> None:
    assert digest_of([(A, 3), (B, 1)], [1, 2]) == digest_of([(B, 1), (A, 3)], [2, 1])
    assert len(digest_of([(A, 3)], [1])) == 64
    assert digest_of([], []) == "0" * 64


def test_a_different_version_entry_or_event_changes_the_digest() -> None:
    base = digest_of([(A, 3), (B, 1)], [1, 2, 3, 4])
    assert digest_of([(A, 2), (B, 1)], [1, 2, 3, 4]) != base
    assert digest_of([(A, 3)], [1, 2, 3, 4]) != base
    assert digest_of([(A, 3), (B, 1)], [1, 2, 4]) != base


def test_applying_events_equals_loading_what_they_left() -> None:
    digest = StateDigest([(A, 1)], [1])
    digest.apply([_record(2, A, 2), _record(3, B, 1), _record(4, A, 3)])
    assert digest.hexdigest() == digest_of([(A, 3), (B, 1)], [1, 2, 3, 4])


def test_an_event_repeated_or_skipped_shows_though_a_later_version_hides_it() -> None:
    right = _applied(_record(1, A, 1), _record(2, A, 2))
    assert _applied(_record(1, A, 1), _record(1, A, 1), _record(2, A, 2)) != right
    assert _applied(_record(2, A, 2)) != right
