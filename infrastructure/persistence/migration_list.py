"""The schema changes of our own tables, in order (eventsourcing owns its own tables).

An applied migration never changes: a change to a table or to the append function is a new
migration with the next number.
"""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.persistence.append_sql import (
    APPEND_FUNCTION,
    APPEND_FUNCTION_V2,
    CHAIN_TABLE,
)


@dataclass(frozen=True)
class Migration:
    """One schema change: statements with ``{s}`` standing for the schema."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "event index",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_event_index ("
            " position bigint PRIMARY KEY, entry_id uuid NOT NULL, version bigint NOT NULL,"
            " recorded_at timestamptz NOT NULL, environment text NOT NULL, area text NOT NULL,"
            " key text NOT NULL, event_type text NOT NULL, UNIQUE (entry_id, version))",
            "CREATE INDEX IF NOT EXISTS cc_event_index_entry_time"
            " ON {s}.cc_event_index (entry_id, recorded_at)",
            "CREATE INDEX IF NOT EXISTS cc_event_index_address"
            " ON {s}.cc_event_index (environment, area, key)",
        ),
    ),
    Migration(
        2,
        "projections: positions, current, audit",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_projection_positions ("
            " name text PRIMARY KEY, position bigint NOT NULL DEFAULT 0,"
            " updated_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO {s}.cc_projection_positions (name) VALUES ('current'), ('audit')"
            " ON CONFLICT DO NOTHING",
            "CREATE TABLE IF NOT EXISTS {s}.cc_current ("
            " entry_id uuid PRIMARY KEY, environment text NOT NULL, area text NOT NULL,"
            " key text NOT NULL, value jsonb NOT NULL, stored jsonb NOT NULL,"
            " version bigint NOT NULL, position bigint NOT NULL,"
            " updated_at timestamptz NOT NULL, updated_by text NOT NULL,"
            " deleted boolean NOT NULL)",
            "CREATE UNIQUE INDEX IF NOT EXISTS cc_current_address"
            " ON {s}.cc_current (environment, area, key)",
            "CREATE TABLE IF NOT EXISTS {s}.cc_audit ("
            " position bigint PRIMARY KEY, environment text NOT NULL, area text NOT NULL,"
            " key text NOT NULL, version bigint NOT NULL, event text NOT NULL,"
            " actor text NOT NULL, reason text, source text NOT NULL,"
            " correlation_id text NOT NULL, recorded_at timestamptz NOT NULL,"
            " changes jsonb NOT NULL)",
            "CREATE INDEX IF NOT EXISTS cc_audit_env_position"
            " ON {s}.cc_audit (environment, position DESC)",
            "CREATE INDEX IF NOT EXISTS cc_audit_actor ON {s}.cc_audit (actor, position DESC)",
        ),
    ),
    Migration(
        3,
        "environment checkpoints and named snapshots",
        (
            "CREATE INDEX IF NOT EXISTS cc_event_index_env_position"
            " ON {s}.cc_event_index (environment, position)",
            "CREATE INDEX IF NOT EXISTS cc_event_index_recorded_at"
            " ON {s}.cc_event_index (recorded_at, position)",
            "CREATE TABLE IF NOT EXISTS {s}.cc_checkpoints ("
            " id bigserial PRIMARY KEY, environment text NOT NULL, name text,"
            " position bigint NOT NULL, recorded_at timestamptz,"
            " created_at timestamptz NOT NULL DEFAULT now(), created_by text, reason text,"
            " entry_count integer NOT NULL, state jsonb NOT NULL,"
            " UNIQUE (environment, name))",
            "CREATE INDEX IF NOT EXISTS cc_checkpoints_env_position"
            " ON {s}.cc_checkpoints (environment, position DESC)",
            "CREATE UNIQUE INDEX IF NOT EXISTS cc_checkpoints_automatic"
            " ON {s}.cc_checkpoints (environment, position) WHERE name IS NULL",
            "INSERT INTO {s}.cc_projection_positions (name) VALUES ('checkpoints')"
            " ON CONFLICT DO NOTHING",
        ),
    ),
    # An applied migration never changes: a new cc_append body is a new migration that
    # creates cc_append_v2, so builds of both versions can write during an upgrade.
    Migration(4, "single-round-trip append", (APPEND_FUNCTION,)),
    Migration(
        5,
        "instance registry",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_instances ("
            " id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL,"
            " kind text NOT NULL, role text NOT NULL, position bigint NOT NULL,"
            " head bigint NOT NULL DEFAULT 0,"
            " digest text, started_at timestamptz NOT NULL DEFAULT now(),"
            " last_seen timestamptz NOT NULL DEFAULT now())",
        ),
    ),
    # The tamper-evident chain: events appended from here on get a link (cc_append_v2).
    Migration(6, "chain", (CHAIN_TABLE, APPEND_FUNCTION_V2)),
    Migration(
        7,
        "secret keys",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_secret_keys ("
            " key_id text PRIMARY KEY, first_seen timestamptz NOT NULL DEFAULT now(),"
            " recorded_by text NOT NULL, retired_at timestamptz)",
        ),
    ),
    Migration(
        8,
        "secret reveals",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_reveals ("
            " id bigserial PRIMARY KEY, revealed_at timestamptz NOT NULL DEFAULT now(),"
            " actor text NOT NULL, role text NOT NULL, environment text NOT NULL,"
            " area text NOT NULL, key text NOT NULL, version bigint NOT NULL,"
            " origin text NOT NULL, via text NOT NULL)",
            "CREATE INDEX IF NOT EXISTS cc_reveals_environment"
            " ON {s}.cc_reveals (environment, id DESC)",
            "CREATE INDEX IF NOT EXISTS cc_reveals_actor ON {s}.cc_reveals (actor, id DESC)",
            "CREATE INDEX IF NOT EXISTS cc_reveals_role ON {s}.cc_reveals (role)",
        ),
    ),
    Migration(
        9,
        "broken entries",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_quarantine ("
            " entry_id uuid PRIMARY KEY, environment text NOT NULL, area text NOT NULL,"
            " key text NOT NULL, position bigint, problem text NOT NULL,"
            " found_at timestamptz NOT NULL DEFAULT now())",
            "CREATE INDEX IF NOT EXISTS cc_quarantine_environment"
            " ON {s}.cc_quarantine (environment, area, key)",
        ),
    ),
    Migration(
        10,
        "repairs",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_repairs ("
            " id bigserial PRIMARY KEY, repaired_at timestamptz NOT NULL DEFAULT now(),"
            " actor text NOT NULL, reason text, source text NOT NULL,"
            " correlation_id text NOT NULL, environment text, head bigint NOT NULL,"
            " actions jsonb NOT NULL, acknowledged_breaks bigint[] NOT NULL DEFAULT '{{}}')",
        ),
    ),
    # What each acknowledged break was acknowledged for (position, problem, fingerprint of
    # the log there) and, with the audit key, a signature: a bare position is forgeable.
    Migration(
        11,
        "repair acknowledgements",
        (
            "ALTER TABLE {s}.cc_repairs ADD COLUMN IF NOT EXISTS"
            " acknowledgement jsonb NOT NULL DEFAULT '{{}}'",
        ),
    ),
    # Sessions of the operator console: the row is found by the SHA-256 of the cookie's
    # value (the value itself is never stored) and names the token it was opened with.
    Migration(
        12,
        "console sessions",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_console_sessions ("
            " id text PRIMARY KEY, token_name text NOT NULL, token_hash text NOT NULL,"
            " csrf text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
            " last_seen timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL)",
            "CREATE INDEX IF NOT EXISTS cc_console_sessions_token"
            " ON {s}.cc_console_sessions (token_name)",
        ),
    ),
    # One row per `verify` run (CLI, HTTP, console): when, who, what, how many problems and
    # the chain head it saw, so the console can show the last result.
    Migration(
        13,
        "verify runs",
        (
            "CREATE TABLE IF NOT EXISTS {s}.cc_verify_runs ("
            " id bigserial PRIMARY KEY, ran_at timestamptz NOT NULL DEFAULT now(),"
            " actor text NOT NULL, source text NOT NULL, environment text,"
            " entries bigint NOT NULL, events bigint NOT NULL, problems integer NOT NULL,"
            " quarantined integer NOT NULL, head text)",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version
