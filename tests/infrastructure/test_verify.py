"""``verify`` proves the log replays to the hashes its events claim, and finds tampering."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from tests.conftest import StoreOpener

ROUTER = Address("default", "router", "default")
WHO = Provenance(actor="v", correlation_id="v")


def _fill(store: Any) -> None:
    for retries in range(7):
        store.set(ROUTER, {"max_retries": retries}, provenance=WHO)
    store.patch(ROUTER, {"fallbacks_enabled": True}, provenance=WHO)
    store.set(Address("staging", "feature_flag", "f"), {"enabled": True}, provenance=WHO)


def test_clean_log_verifies(open_test_store: StoreOpener) -> None:
    with open_test_store(snapshot_interval=3) as store:
        _fill(store)
        report = store.verify()
        assert (report.entries, report.events, report.snapshots) == (2, 9, 2)
        assert report.findings == []
        assert store.verify("staging").entries == 1


def test_tampered_event_is_found(
    open_test_store: StoreOpener, db: psycopg.Connection[Any], schema: str
) -> None:
    with open_test_store(snapshot_interval=3) as store:
        _fill(store)
        table = SQL("{}.{}").format(Identifier(schema), Identifier("conduitconfig_events"))
        row = db.execute(
            SQL("SELECT state FROM {} WHERE originator_id = %s AND originator_version = 2").format(
                table
            ),
            (ROUTER.entry_id,),
        ).fetchone()
        assert row is not None
        state = orjson.loads(row[0])
        state["value"]["max_retries"] = 9
        db.execute(
            SQL(
                "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = 2"
            ).format(table),
            (orjson.dumps(state), ROUTER.entry_id),
        )
        report = store.verify()
        # Version 3 replaces the whole value, so only the tampered version is wrong; the
        # chain names the same position.
        position = store.index.row(ROUTER.entry_id, 2)
        assert position is not None
        found = [(f.entry, f.version, f.position) for f in report.findings]
        assert found == [
            ("default:router/default", 2, position.position),
            ("default:router/default", None, position.position),
        ]
        assert "hash" in report.findings[0].problem
        assert report.findings[1].problem.startswith("chain: ")
