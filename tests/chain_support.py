"""Helpers of the chain tests: writes, writes by a pre-chain build, and SQL tampering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from infrastructure.crypto import decode_key, generate_key
from infrastructure.persistence.audit import ZERO_LINK, canonical, plain_link
from infrastructure.persistence.recorder import IndexingRecorder
from infrastructure.store import ConfigStore
from infrastructure.store.chain import ChainReport

WHO = Provenance(actor="chain-test", source="api", correlation_id="chain-test")
KEY_A = generate_key()
KEY_B = generate_key()
_V1_CALL = (
    "SELECT t.r, t.p FROM {}.cc_append_v1(%s::int[], %s::uuid[], %s::bigint[], %s::text[],"
    " %s::bytea[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text, %s::bigint)"
    " AS t(r, p)"
)


def positions(report: ChainReport, word: str | None = None) -> list[int]:
    """Positions of the findings (whose problem mentions ``word``)."""
    return [f.position for f in report.findings if word is None or word in f.problem]


def key_bytes(text: str) -> bytes:
    return decode_key(text, source="test")


def write_flags(store: ConfigStore, count: int, *, prefix: str = "f") -> list[int]:
    """``count`` sets of new feature flags; their log positions."""
    return [
        store.set(
            Address("default", "feature_flag", f"{prefix}{i}"),
            {"enabled": True, "rollout_percent": i % 101},
            provenance=WHO,
        ).position
        for i in range(count)
    ]


def write_with_v1(store: ConfigStore, count: int, *, prefix: str) -> list[int]:
    """Writes appended through ``cc_append_v1``, as a build from before the chain does."""
    recorder = store.app.recorder
    assert isinstance(recorder, IndexingRecorder)
    saved = recorder._append, recorder._audit
    recorder._append = SQL(_V1_CALL).format(Identifier(store.app.datastore.schema))
    recorder._audit = ()  # type: ignore[assignment]  # v1 takes no key parameters
    try:
        return write_flags(store, count, prefix=prefix)
    finally:
        recorder._append, recorder._audit = saved


@dataclass
class Tamper:
    """SQL behind the store's back, on one schema."""

    db: psycopg.Connection[Any]
    schema: str

    def run(self, statement: str, *params: Any) -> list[Any]:
        cursor = self.db.execute(statement.replace("{s}", self.schema), params)
        return cursor.fetchall() if cursor.description else []

    def flip_state_byte(self, position: int) -> None:
        self.run(
            "UPDATE {s}.conduitconfig_events SET state = set_byte(state, 2, get_byte(state, 2) # 1)"
            " WHERE notification_id = %s",
            position,
        )

    def delete(self, table: str, position: int) -> None:
        column = "notification_id" if table == "conduitconfig_events" else "position"
        self.run(f"DELETE FROM {{s}}.{table} WHERE {column} = %s", position)

    def forge_after(self, model: int) -> int:
        """A copy of the event at ``model`` for a new entry, with its index row."""
        rows = self.run(
            "INSERT INTO {s}.conduitconfig_events (originator_id, originator_version, topic, state)"
            " SELECT gen_random_uuid(), 1, topic, state FROM {s}.conduitconfig_events"
            " WHERE notification_id = %s RETURNING notification_id, originator_id",
            model,
        )
        position, entry_id = rows[0]
        self.run(
            "INSERT INTO {s}.cc_event_index SELECT %s, %s, 1, now(), environment, area,"
            " key || '-forged', event_type FROM {s}.cc_event_index WHERE position = %s",
            position,
            entry_id,
            model,
        )
        return int(position)

    def swap_states(self, first: int, second: int) -> None:
        self.run(
            "UPDATE {s}.conduitconfig_events e SET state = o.state FROM {s}.conduitconfig_events o"
            " WHERE (e.notification_id, o.notification_id) IN ((%s, %s), (%s, %s))",
            first,
            second,
            second,
            first,
        )

    def swap_recorded_at(self, first: int, second: int) -> None:
        self.run(
            "UPDATE {s}.cc_event_index e SET recorded_at = o.recorded_at FROM {s}.cc_event_index o"
            " WHERE (e.position, o.position) IN ((%s, %s), (%s, %s))",
            first,
            second,
            second,
            first,
        )

    def chain_start(self) -> int:
        return int(self.run("SELECT MIN(position) FROM {s}.cc_chain")[0][0])


def relink_plain(tamper: Tamper, *, start: int | None = None) -> None:
    """Recompute every link from ``start`` (default: the chain's first) as plain SHA-256
    over the events as they are now: what a forger without the audit key can do."""
    begin = tamper.chain_start() if start is None else start
    before = tamper.run(
        "SELECT hash FROM {s}.cc_chain WHERE position < %s ORDER BY position DESC LIMIT 1", begin
    )
    link = bytes(before[0][0]) if before else ZERO_LINK
    rows = tamper.run(
        "SELECT e.notification_id, e.originator_id, e.originator_version, i.recorded_at,"
        " e.topic, e.state FROM {s}.conduitconfig_events e JOIN {s}.cc_event_index i"
        " ON i.position = e.notification_id WHERE e.notification_id >= %s ORDER BY 1",
        begin,
    )
    for position, entry_id, version, recorded_at, topic, state in rows:
        event = canonical(
            position, entry_id, version, recorded_at=recorded_at, topic=topic, state=bytes(state)
        )
        link = plain_link(link, event)
        tamper.run(
            "UPDATE {s}.cc_chain SET hash = %s, key_id = NULL WHERE position = %s", link, position
        )
