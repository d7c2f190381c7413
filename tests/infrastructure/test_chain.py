"""The tamper-evident chain: links written with every append, and ``check_chain`` naming
the first position of each kind of damage done with SQL behind the store's back."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from domain.parsing import MalformedInputError
from infrastructure.persistence.audit import epoch_micros
from infrastructure.persistence.group import AppendRequest
from infrastructure.persistence.recorder import IndexingRecorder
from infrastructure.store import ConfigStore
from infrastructure.store import chain as chain_module
from infrastructure.store.chain import ChainHead, check_chain, head
from tests.chain_support import (
    KEY_A,
    Tamper,
    key_bytes,
    positions,
    relink_plain,
    write_flags,
    write_with_v1,
)


@pytest.fixture
def tamper(db: psycopg.Connection[Any], schema: str) -> Tamper:
    return Tamper(db, schema)


def test_every_append_links_the_log_and_the_chain_verifies(store: ConfigStore) -> None:
    written = write_flags(store, 5)
    report = check_chain(store)
    assert report.findings == []
    assert (report.start, report.keyed_from, report.unchained) == (written[0], None, 0)
    assert report.links == 5
    found = head(store)
    assert found is not None and report.head == found
    assert (found.position, found.keyed, len(found.hash)) == (written[-1], False, 64)


def test_python_reproduces_the_database_microseconds(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    write_flags(store, 3)
    rows = db.execute(
        f"SELECT recorded_at, (extract(epoch FROM recorded_at) * 1000000)::bigint"
        f" FROM {schema}.cc_event_index"
    ).fetchall()
    moments = db.execute(
        "SELECT t, (extract(epoch FROM t) * 1000000)::bigint FROM (VALUES"
        " ('1969-12-31 23:59:59.999999+00'::timestamptz), ('2262-04-11 23:47:16.854775+00'),"
        " ('2024-02-29 12:00:00.000001+05:30')) AS v(t)"
    ).fetchall()
    assert len(rows) == 3
    assert all(epoch_micros(moment) == micros for moment, micros in rows + moments)


def test_a_modified_state_byte_is_named_at_its_position(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 6)
    tamper.flip_state_byte(written[2])
    report = check_chain(store)
    assert positions(report) == [written[2]]
    assert "modified" in report.findings[0].problem


def test_a_deleted_event_whose_link_remains(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 5)
    tamper.delete("conduitconfig_events", written[2])
    report = check_chain(store)
    assert positions(report) == [written[2]]
    assert "link without event" in report.findings[0].problem


def test_a_deleted_event_with_its_index_row_whose_link_remains(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 5)
    tamper.delete("conduitconfig_events", written[1])
    tamper.delete("cc_event_index", written[1])
    assert positions(check_chain(store), "link without event") == [written[1]]
    assert positions(check_chain(store)) == [written[1]]


def test_a_deleted_event_and_link_whose_index_row_remains(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 5)
    tamper.delete("conduitconfig_events", written[2])
    tamper.delete("cc_chain", written[2])
    report = check_chain(store)
    assert positions(report) == [written[2]]
    assert "event and its link deleted" in report.findings[0].problem


def test_an_event_deleted_with_link_and_index_row_breaks_the_next_link(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 5)
    for table in ("conduitconfig_events", "cc_chain", "cc_event_index"):
        tamper.delete(table, written[2])
    report = check_chain(store)
    assert positions(report) == [written[3]]
    assert "deleted or inserted" in report.findings[0].problem


def test_a_deleted_link_alone_is_named_once(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 5)
    tamper.delete("cc_chain", written[1])
    report = check_chain(store)
    assert positions(report) == [written[1]]
    assert report.unchained == 1


def test_a_forged_event_has_no_link(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 4)
    forged = tamper.forge_after(written[1])
    report = check_chain(store)
    assert forged > written[-1]
    assert positions(report) == [forged]
    assert "event without link" in report.findings[0].problem
    assert report.unchained == 1


def test_two_events_that_traded_states_are_reordered(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 6)
    tamper.swap_states(written[1], written[4])
    report = check_chain(store)
    assert positions(report) == [written[1]]
    assert f"at position {written[4]} now" in report.findings[0].problem


def test_reordered_index_times_are_named(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 4)
    tamper.swap_recorded_at(written[1], written[2])
    report = check_chain(store)
    assert positions(report, "events reordered") == [written[2]]
    assert written[1] in positions(report, "modified")


def test_a_deleted_tail_is_found_only_against_a_recorded_head(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 5)
    recorded = head(store)
    assert recorded is not None
    for position in written[3:]:
        for table in ("conduitconfig_events", "cc_chain", "cc_event_index"):
            tamper.delete(table, position)
    assert check_chain(store).findings == []
    report = check_chain(store, against=recorded)
    assert positions(report) == [written[-1]]
    assert report.findings[0].problem == "log is shorter than the recorded head (truncated?)"


def test_a_deleted_tail_then_new_writes_are_found_against_a_recorded_head(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 4)
    recorded = head(store)
    assert recorded is not None
    for table in ("conduitconfig_events", "cc_chain", "cc_event_index"):
        tamper.delete(table, written[-1])
    write_flags(store, 2, prefix="later")
    assert check_chain(store).findings == []
    report = check_chain(store, against=recorded)
    assert positions(report) == [written[-1]]
    assert "no link at the recorded head" in report.findings[0].problem


def test_a_recorded_head_still_in_the_log_passes(store: ConfigStore, tamper: Tamper) -> None:
    written = write_flags(store, 3)
    recorded = head(store)
    assert recorded is not None
    write_flags(store, 3, prefix="more")
    assert check_chain(store, against=ChainHead.parse(recorded.text)).findings == []
    tamper.flip_state_byte(written[0])
    report = check_chain(store, against=recorded)
    assert positions(report) == [written[0]]  # the prefix no longer verifies


def test_a_rewritten_head_is_found_against_the_recorded_one(
    store: ConfigStore, tamper: Tamper
) -> None:
    written = write_flags(store, 4)
    recorded = head(store)
    assert recorded is not None
    tamper.flip_state_byte(written[1])
    relink_plain(tamper, start=written[1])
    assert check_chain(store).findings == []
    report = check_chain(store, against=recorded)
    assert positions(report) == [written[-1]]
    assert "differs from the recorded head" in report.findings[0].problem


def test_events_before_the_chain_and_old_writers_after_it(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    early = write_with_v1(store, 3, prefix="early")
    chained = write_flags(store, 2)
    report = check_chain(store)
    assert (report.findings, report.start, report.unchained) == ([], chained[0], 0)
    assert early[-1] < chained[0]
    stray = write_with_v1(store, 1, prefix="old-build")  # an old writer during an upgrade
    after = write_flags(store, 2, prefix="after")
    report = check_chain(store)
    assert positions(report) == stray and report.unchained == 1
    assert report.head is not None and report.head.position == after[-1]


def test_the_check_streams_in_batches(
    store: ConfigStore, tamper: Tamper, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = write_flags(store, 23)
    tamper.flip_state_byte(written[17])
    monkeypatch.setattr(chain_module, "STREAM_BATCH", 4)
    report = check_chain(store)
    assert positions(report) == [written[17]] and report.links == 23


def test_head_text_round_trips_and_bad_text_is_refused() -> None:
    text = "42:" + "AB" * 32
    parsed = ChainHead.parse(text)
    assert (parsed.position, parsed.text) == (42, "42:" + "ab" * 32)
    for bad in ("", "42", "42:abc", "-1:" + "a" * 64, "x:" + "a" * 64, "4²:" + "a" * 64):
        with pytest.raises(MalformedInputError):
            ChainHead.parse(bad)


def test_an_empty_store_has_no_head(store: ConfigStore) -> None:
    report = check_chain(store, audit_key=key_bytes(KEY_A))
    assert (head(store), report.start, report.findings) == (None, None, [])
    report = check_chain(store, against=ChainHead(3, "0" * 64))
    assert positions(report, "truncated") == [3]


def test_a_group_with_a_taken_version_links_the_appended_rest(store: ConfigStore) -> None:
    written = write_flags(store, 2)
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    model = recorder.select_notifications(start=written[0], limit=1)[0]
    taken = StoredEvent(model.originator_id, model.originator_version, model.topic, model.state)
    row = ("default", "feature_flag", "copy")
    group = [
        AppendRequest([StoredEvent(uuid4(), 1, model.topic, model.state)], [row]),
        AppendRequest([taken], [row]),
        AppendRequest([StoredEvent(uuid4(), 1, model.topic, model.state)], [row]),
    ]
    with store.app.datastore.get_connection() as conn:
        recorder._append_group(group, conn)  # the unique_violation branch of cc_append_v2
    assert group[1].positions is None
    appended = [p for member in (group[0], group[2]) for p in member.positions or []]
    assert len(appended) == 2
    report = check_chain(store)
    assert (report.findings, report.links, report.unchained) == ([], 4, 0)
    assert report.head is not None and report.head.position == max(appended)
