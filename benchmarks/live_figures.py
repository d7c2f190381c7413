"""P3, P8 and M1: the client runtime's live cache (a read, a change reaching another
process, the memory of 10,000 entries)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import orjson

from benchmarks.figures import Figure, Sizes, bench_store
from domain.address import Address
from domain.areas import RouterConfig
from domain.document import EnvDocument
from domain.entry import Provenance
from infrastructure.client import connect
from infrastructure.settings import load_settings
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY

WHO = Provenance(actor="bench", source="api", correlation_id="bench")
CACHE_ENTRIES = 10_000


def p3_figure(database_url: str, baseline_us: float) -> Figure:
    """p50 of ``manager(RouterConfig).current``, in µs, next to a plain dict lookup."""
    with bench_store(database_url) as store:
        store.set(Address("default", "router", "default"), {"max_retries": 4}, provenance=WHO)
        settings = load_settings(
            database_url=database_url,
            database_schema=store.app.datastore.schema,
            secret_key=TEST_SECRET_KEY,
        )
        with connect("default", settings=settings, last_known_good=None, environ={}) as client:
            router = client.manager(RouterConfig)
            assert router.current.max_retries == 4
            samples = []
            for _ in range(200):
                started = time.perf_counter_ns()
                for _ in range(1000):
                    router.current  # noqa: B018 (the read being measured)
                samples.append((time.perf_counter_ns() - started) / 1000)
    value = statistics.median(samples) / 1000
    return Figure(
        "P3",
        "live-cache read of a typed value",
        value,
        "µs p50",
        baseline_us,
        value / baseline_us,
        "p50 ≤ 1 µs",
        value <= 1.0,
        "baseline: a plain dict lookup",
    )


@contextmanager
def _probe(store: ConfigStore, environment: str) -> Iterator[tuple[subprocess.Popen[str], Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUIT")}
    env.update(
        CONDUIT_CONFIG_DATABASE_URL=store.database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=store.app.datastore.schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.live_probe", environment],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        ready = orjson.loads(process.stdout.readline())
        yield process, ready
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=30)


def _arrivals(stdout: IO[str], count: int) -> dict[str, float]:
    seen: dict[str, float] = {}
    while len(seen) < count:
        line = orjson.loads(stdout.readline())
        seen[line["key"]] = line["at"]
    return seen


def p8_figure(database_url: str, sizes: Sizes) -> Figure:
    """p99 from the start of a ``set`` to its change arriving in another process's cache."""
    changes = max(100, sizes.reads)
    with bench_store(database_url) as store, _probe(store, "default") as (process, _):
        started: dict[str, float] = {}
        for i in range(changes):
            key = f"p{i}"
            started[key] = time.time()
            store.set(Address("default", "feature_flag", key), {"enabled": True}, provenance=WHO)
            time.sleep(0.005)  # changes a few ms apart, as configuration changes are
        assert process.stdout is not None
        arrived = _arrivals(process.stdout, changes)
    latencies = sorted((arrived[k] - started[k]) * 1000 for k in started)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return Figure(
        "P8",
        "change reaching another process's cache",
        p99,
        "ms p99",
        statistics.median(latencies),
        None,
        "p99 ≤ 50 ms",
        p99 <= 50,
        f"baseline: the p50 ({changes} changes, 5 ms apart)",
    )


def m1_figure(database_url: str) -> Figure:
    """RSS of a process whose live cache holds 10,000 entries."""
    with bench_store(database_url) as store:
        flags = {
            f"f{i}": {"rollout_percent": i % 101, "description": f"flag {i}"}
            for i in range(CACHE_ENTRIES)
        }
        document = EnvDocument(environment="default", entries={"feature_flag": flags})
        store.apply_document(document, environment="default", provenance=WHO)
        store.projections.catch_up()  # as a running server does: the checkpoint exists
        with _probe(store, "default") as (_, ready):
            assert ready["entries"] >= CACHE_ENTRIES
    rss, before = ready["rss"] / 2**20, ready["rss_before"] / 2**20
    return Figure(
        "M1",
        f"live cache of {CACHE_ENTRIES:,} entries",
        rss,
        "MB RSS",
        before,
        None,
        "≤ 100 MB RSS",
        rss <= 100,
        "baseline: the same process before connecting (imports done)",
    )
