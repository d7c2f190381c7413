"""P1 and P2: durable writes through the Python API next to raw INSERT + COMMIT."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from statistics import median

import psycopg

from benchmarks.figures import Figure, Sizes, bench_store
from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore

WHO = Provenance(actor="bench", source="api", correlation_id="bench")
_RAW_TABLE = "cc_bench_raw"


def _in_threads(count: int, work: Callable[[int], None]) -> float:
    """Run ``work(i)`` in ``count`` threads at once; seconds until all finished."""
    start = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


def raw_rate(database_url: str, payload: bytes, *, total: int, clients: int) -> float:
    """INSERT + COMMIT per row into a plain table, ``clients`` connections; rows/s."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {_RAW_TABLE}")
        conn.execute(f"CREATE TABLE {_RAW_TABLE} (id bigserial PRIMARY KEY, payload bytea)")
    connections = [psycopg.connect(database_url) for _ in range(clients)]
    per_client = total // clients

    def insert(i: int) -> None:
        conn = connections[i]
        for _ in range(per_client):
            conn.execute(f"INSERT INTO {_RAW_TABLE} (payload) VALUES (%s)", (payload,))
            conn.commit()

    try:
        seconds = _in_threads(clients, insert)
    finally:
        for conn in connections:
            conn.close()
    return per_client * clients / seconds


def _set_rate(store: ConfigStore, *, total: int, writers: int) -> float:
    """Durable sets of distinct entries by ``writers`` threads; sets/s."""
    per_writer = total // writers

    def write(w: int) -> None:
        for i in range(per_writer):
            address = Address("default", "feature_flag", f"w{w}-{i % 20}")
            store.set(address, {"rollout_percent": i % 101, "enabled": True}, provenance=WHO)

    return per_writer * writers / _in_threads(writers, write)


def _last_payload(store: ConfigStore) -> bytes:
    """The stored state of the last event: the payload the raw baseline inserts."""
    notifications = store.app.recorder.select_notifications(start=store.projections.head(), limit=1)
    return bytes(notifications[0].state)


def write_figures(database_url: str, sizes: Sizes, *, rounds: int = 3) -> list[Figure]:
    """P1 (1 writer) and P2 (``sizes.writers`` writers) against the raw single-client
    rate; each measured ``rounds`` times, interleaved with the baseline (medians), so a
    slow moment of the machine does not favour either side."""
    singles, manys, raws, raw_manys = [], [], [], []
    with bench_store(database_url) as store:
        _set_rate(store, total=sizes.writes // 4, writers=1)  # warm the pool and caches
        payload = _last_payload(store)
        for _ in range(rounds):
            raws.append(raw_rate(database_url, payload, total=sizes.writes, clients=1))
            singles.append(_set_rate(store, total=sizes.writes, writers=1))
            manys.append(_set_rate(store, total=sizes.writes, writers=sizes.writers))
            raw_manys.append(
                raw_rate(database_url, payload, total=sizes.writes, clients=sizes.writers)
            )
    single, many, raw_one = median(singles), median(manys), median(raws)
    note = (
        f"medians of {rounds}; raw {sizes.writers} clients: {median(raw_manys):,.0f}/s;"
        f" payload {len(payload)} bytes"
    )
    return [
        Figure(
            "P1",
            "durable set, 1 writer",
            single,
            "sets/s",
            raw_one,
            single / raw_one,
            ">= 0.6 x raw INSERT+COMMIT",
            single / raw_one >= 0.6,
            f"medians of {rounds}",
        ),
        Figure(
            "P2",
            f"durable sets, {sizes.writers} writers",
            many,
            "sets/s",
            raw_one,
            many / raw_one,
            ">= 1.0 x raw single-client",
            many / raw_one >= 1.0,
            note,
        ),
    ]
