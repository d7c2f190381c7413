"""The reveal record: batched writes, filters and paging, counts by role, and a write
that fails (the table gone) raising instead of pretending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from infrastructure.errors import StorageError
from infrastructure.store import ConfigStore
from infrastructure.store.reveals import Revealed, Revealer, RevealQuery, reveal_log

GATEWAY = Revealer(actor="gateway", role="service", origin="10.0.0.7", via="client")
ALICE = Revealer(actor="alice", role="cli", origin="cli:alice", via="get")


def test_a_thousand_reveals_are_one_statement(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    log = reveal_log(store)
    entries = [Revealed("prod", "provider", f"p{i:04d}", i + 1) for i in range(1000)]
    count_statements(db, schema)
    assert log.record(GATEWAY, entries) == 1000
    assert statements(db, schema) == 1
    records = log.query(RevealQuery(limit=10_000))
    assert len(records) == 1000
    newest = records[0]
    assert (newest.actor, newest.role, newest.origin, newest.via) == (
        "gateway",
        "service",
        "10.0.0.7",
        "client",
    )
    assert (newest.environment, newest.area, newest.key, newest.version) == (
        "prod",
        "provider",
        "p0999",
        1000,
    )
    assert abs(newest.revealed_at - datetime.now(UTC)) < timedelta(minutes=5)


def count_statements(db: psycopg.Connection[Any], schema: str) -> None:
    """Count INSERT statements into cc_reveals (a statement-level trigger) in
    ``SCHEMA.reveal_statements``."""
    db.execute(f'CREATE TABLE "{schema}".reveal_statements (n int NOT NULL)')
    db.execute(f'INSERT INTO "{schema}".reveal_statements VALUES (0)')
    db.execute(
        f'CREATE FUNCTION "{schema}".bump_reveal_statements() RETURNS trigger'
        f' LANGUAGE plpgsql AS $$ BEGIN UPDATE "{schema}".reveal_statements SET n = n + 1;'
        " RETURN NULL; END $$"
    )
    db.execute(
        f'CREATE TRIGGER count_statements AFTER INSERT ON "{schema}".cc_reveals'
        f' FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".bump_reveal_statements()'
    )


def statements(db: psycopg.Connection[Any], schema: str) -> int:
    """INSERT statements into cc_reveals since :func:`count_statements`."""
    row = db.execute(f'SELECT n FROM "{schema}".reveal_statements').fetchone()
    assert row is not None
    return int(row[0])


def test_nothing_to_record_writes_nothing(store: ConfigStore) -> None:
    assert reveal_log(store).record(GATEWAY, []) == 0
    assert reveal_log(store).query(RevealQuery()) == []


def test_filters_paging_and_counts(store: ConfigStore) -> None:
    log = reveal_log(store)
    log.record(GATEWAY, [Revealed("prod", "provider", "openai", 3)])
    log.record(ALICE, [Revealed("staging", "provider", "groq", 1)])
    log.record(GATEWAY, [Revealed("staging", "provider", "groq", 1)])
    everything = log.query(RevealQuery())
    assert [(r.actor, r.environment) for r in everything] == [
        ("gateway", "staging"),
        ("alice", "staging"),
        ("gateway", "prod"),
    ]
    assert [r.actor for r in log.query(RevealQuery(environment="staging"))] == [
        "gateway",
        "alice",
    ]
    assert [r.environment for r in log.query(RevealQuery(actor="gateway"))] == [
        "staging",
        "prod",
    ]
    page = log.query(RevealQuery(limit=2))
    rest = log.query(RevealQuery(limit=2, before=page[-1].id))
    assert [r.id for r in page + rest] == [r.id for r in everything]
    assert log.query(RevealQuery(since=datetime.now(UTC) + timedelta(hours=1))) == []
    assert log.counts() == {"service": 2, "cli": 1}


def test_a_record_that_cannot_be_written_raises(
    store: ConfigStore, db: psycopg.Connection[Any], schema: str
) -> None:
    db.execute(f'ALTER TABLE "{schema}".cc_reveals RENAME TO cc_reveals_gone')
    with pytest.raises(StorageError, match="could not record the reveal"):
        reveal_log(store).record(GATEWAY, [Revealed("prod", "provider", "openai", 1)])
