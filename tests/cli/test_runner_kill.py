"""A projection runner killed with -9 mid-stream loses nothing and repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.cli.conftest import clean_env, executable
from tests.conftest import TEST_SECRET_KEY


def _audit_state(db: psycopg.Connection[Any], schema: str) -> tuple[int, int, int]:
    rows = db.execute(
        SQL("SELECT count(*), COALESCE(max(position), 0) FROM {}.cc_audit").format(
            Identifier(schema)
        )
    ).fetchone()
    tracked = db.execute(
        SQL("SELECT position FROM {}.cc_projection_positions WHERE name = 'audit'").format(
            Identifier(schema)
        )
    ).fetchone()
    assert rows is not None and tracked is not None
    return int(rows[0]), int(rows[1]), int(tracked[0])


def test_kill_9_mid_stream_then_resume_exactly_once(
    store: ConfigStore, database_url: str, schema: str, db: psycopg.Connection[Any]
) -> None:
    who = Provenance(actor="k", correlation_id="k")
    for i in range(1200):
        store.set(
            Address("default", "feature_flag", f"f{i % 60}"),
            {"rollout_percent": i % 101},
            provenance=who,
        )
    head = store.projections.head()
    env = clean_env(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        CONDUIT_CONFIG_PROJECTION_BATCH_SIZE="5",
    )
    runner = subprocess.Popen(
        [*executable(), "projections", "run"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while _audit_state(db, schema)[2] < 200 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=20)
    count, highest, tracked = _audit_state(db, schema)
    assert 0 < tracked < head, "the kill should land mid-stream"
    assert (count, highest) == (tracked, tracked)  # rows and position committed together
    store.projections.catch_up()
    assert _audit_state(db, schema) == (head, head, head)
    live = db.execute(
        SQL("SELECT * FROM {}.cc_current ORDER BY entry_id").format(Identifier(schema))
    ).fetchall()
    store.rebuild_projection("current")
    rebuilt = db.execute(
        SQL("SELECT * FROM {}.cc_current ORDER BY entry_id").format(Identifier(schema))
    ).fetchall()
    assert rebuilt == live
