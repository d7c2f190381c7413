"""P5, P6, P7 and P9: reads at any version, whole environment as of a time, rebuild,
atomic restore, each on a history written for it."""

from __future__ import annotations

import random
import time
from datetime import datetime

from benchmarks.figures import Figure, Sizes, bench_store, p50_ms
from domain.address import Address
from domain.document import EnvDocument
from domain.entry import ConfigEntry, Provenance
from infrastructure.store import ConfigStore

WHO = Provenance(actor="bench", source="import", correlation_id="bench")
ROUTER = Address("default", "router", "default")


def write_versions(store: ConfigStore, address: Address, versions: int) -> None:
    """``versions`` versions of one entry, saved a snapshot interval at a time (so every
    per-entry snapshot is taken as in normal use) to write long histories quickly."""
    model = store.model_for(address)
    entry = store.load(address) or ConfigEntry.create(
        address, {"max_retries": 0}, WHO, model.schema_version
    )
    interval = store.app.snapshot_interval
    while entry.version < versions:
        for _ in range(min(interval - entry.version % interval, versions - entry.version)):
            entry.set({"max_retries": (entry.version + 1) % 11}, WHO, model.schema_version)
        store.app.save(entry, addresses={entry.id: address})


def p5_figures(database_url: str, sizes: Sizes) -> list[Figure]:
    """p50 of a read at a random version, at each history length."""
    rng = random.Random(5)
    results: list[tuple[int, float]] = []
    with bench_store(database_url) as store:
        for length in sizes.versions:
            write_versions(store, ROUTER, length)

            def read(n: int = length) -> object:
                return store.get(ROUTER, version=rng.randint(1, n))

            results.append((length, p50_ms(read, sizes.reads)))
    base = results[0][1]
    return [
        Figure(
            f"P5@{n}",
            f"read one entry at any version, {n:,} versions",
            ms,
            "ms p50",
            base,
            ms / base,
            "≤ 2 ms; ≤ 1.5 x at 100 versions",
            ms <= 2.0 and ms / base <= 1.5,
        )
        for n, ms in results
    ]


def flag_value(number: int, i: int) -> dict[str, object]:
    return {"rollout_percent": (number + i) % 101, "description": f"r{number}"}


def environment_history(store: ConfigStore, *, entries: int, events: int) -> list[datetime]:
    """About ``events`` events in environment ``default``: rounds of one atomic apply
    changing all ``entries`` flags; returns when each round was recorded.

    ``entries - 1`` router versions come first, so with a checkpoint every ``entries``
    events each round ends one event before a checkpoint: an as-of read at a round's
    time replays ``entries - 1`` events, the worst case.
    """
    write_versions(store, ROUTER, entries - 1)
    times = []
    for number in range(events // entries):
        flags = {f"flag-{i:05d}": flag_value(number, i) for i in range(entries)}
        document = EnvDocument(environment="default", entries={"feature_flag": flags})
        result = store.apply_document(document, environment="default", provenance=WHO)
        moment = store.environment_at("default", result.position).recorded_at
        assert moment is not None
        times.append(moment)
    return times


def environment_figures(database_url: str, sizes: Sizes) -> list[Figure]:
    """P6 (as-of read, worst case after a checkpoint), P7 (rebuild), P9 (restore)."""
    with bench_store(database_url, checkpoint_interval=sizes.entries) as store:
        times = environment_history(store, entries=sizes.entries, events=sizes.events)
        store.projections.catch_up()
        instant = times[len(times) // 2]
        assert (
            store.environment_at("default", instant).position % sizes.entries == sizes.entries - 1
        )
        p6 = p50_ms(lambda: store.export("default", instant), max(10, sizes.reads // 10))
        started = time.perf_counter()
        replayed = store.rebuild_projection("current")
        rate = replayed / (time.perf_counter() - started)
        restores = []
        for target in (times[1], times[2], times[1]):
            started = time.perf_counter()
            result = store.restore("default", target, provenance=WHO)
            restores.append(time.perf_counter() - started)
            assert len(result.changes) == sizes.entries
    n, events = sizes.entries, sizes.events
    p9 = sorted(restores)[1]
    return [
        Figure(
            "P6",
            f"whole environment as of a time ({n:,} entries, {events:,} events)",
            p6,
            "ms p50",
            None,
            None,
            "≤ 100 ms",
            p6 <= 100,
        ),
        Figure(
            "P7",
            f"projection rebuild ({replayed:,} events)",
            rate,
            "events/s",
            None,
            None,
            "≥ 10,000 events/s",
            rate >= 10_000,
        ),
        Figure(
            "P9",
            f"atomic restore of {n:,} entries",
            p9 * 1000,
            "ms median",
            None,
            None,
            "≤ 1,000 ms",
            p9 <= 1.0,
        ),
    ]
