"""As-of reads of the last milliseconds are final: an append stamps its time when it takes
the table lock and commits later, so a read of a moment between the two waits for it
instead of answering without it (and differently when repeated)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from infrastructure.store import ConfigStore
from tests.infrastructure.test_projections import who

FLAG = Address("default", "feature_flag", "settle")
HOLD_SECONDS = 1.5


def _slow_commits(db: psycopg.Connection[Any], schema: str) -> None:
    """Every append sleeps after stamping its time and before committing."""
    db.execute(
        SQL(
            "CREATE FUNCTION {s}.cc_test_sleep() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_sleep({hold}); RETURN NULL; END $$"
        ).format(s=Identifier(schema), hold=HOLD_SECONDS)
    )
    db.execute(
        SQL(
            "CREATE TRIGGER cc_test_sleep AFTER INSERT ON {s}.cc_event_index"
            " FOR EACH STATEMENT EXECUTE FUNCTION {s}.cc_test_sleep()"
        ).format(s=Identifier(schema))
    )


def _wait_for_sleeping_append(db: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.01)
    raise AssertionError("the append never reached its sleep")


def _database_now(db: psycopg.Connection[Any]) -> datetime:
    row = db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


def test_read_of_a_moment_inside_an_append_waits_for_its_commit(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    store.set(FLAG, {"rollout_percent": 1}, provenance=who())
    _slow_commits(db, schema)
    writer = threading.Thread(
        target=store.set, args=(FLAG, {"rollout_percent": 2}), kwargs={"provenance": who()}
    )
    writer.start()
    try:
        _wait_for_sleeping_append(db)
        moment = _database_now(db)  # after the append's time, before its commit
        first = store.get(FLAG, as_of=moment)
        environment = store.export("default", moment)
    finally:
        writer.join()
    again = store.get(FLAG, as_of=moment)
    assert (first.version, first.value["rollout_percent"]) == (2, 2)
    assert (again.version, again.value["rollout_percent"]) == (2, 2)
    assert environment.entries["feature_flag"]["settle"] == {"rollout_percent": 2}


def test_older_moments_do_not_wait_for_appends_in_flight(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    store.set(FLAG, {"rollout_percent": 1}, provenance=who())
    before = _database_now(db)
    store.set(FLAG, {"rollout_percent": 3}, provenance=who())
    _slow_commits(db, schema)
    writer = threading.Thread(
        target=store.set, args=(FLAG, {"rollout_percent": 4}), kwargs={"provenance": who()}
    )
    writer.start()
    try:
        _wait_for_sleeping_append(db)
        old = store.get(FLAG, as_of=before)
        still_sleeping = writer.is_alive()
    finally:
        writer.join()
    assert (old.version, old.value["rollout_percent"]) == (1, 1)
    assert still_sleeping  # answered without waiting for the append's commit
