"""Whole-environment benchmarks: P6 (as-of read of 1,000 entries after 100,000 events)
and P9 (atomic restore of a 1,000-entry environment).

Run: ``pytest benchmarks/test_environment_bench.py`` (the history takes a minute to write).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from domain.document import EnvDocument
from domain.entry import Provenance
from infrastructure.bootstrap import open_store
from infrastructure.settings import load_settings
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY

WHO = Provenance(actor="bench", source="import", correlation_id="bench")
ENTRIES = 1_000
EVENTS = 100_000


def _flag(number: int, i: int) -> dict[str, Any]:
    return {"rollout_percent": (number + i) % 101, "description": f"r{number}"}


def _round(store: ConfigStore, number: int) -> datetime:
    """One atomic apply changing every entry; returns when it was recorded."""
    document = EnvDocument(
        environment="default",
        entries={"feature_flag": {f"flag-{i:04d}": _flag(number, i) for i in range(ENTRIES)}},
    )
    result = store.apply_document(document, environment="default", provenance=WHO)
    assert len(result.changes) == ENTRIES
    view = store.environment_at("default", result.position)
    assert view.recorded_at is not None
    return view.recorded_at


@pytest.fixture(scope="module")
def history(database_url: str) -> Iterator[tuple[ConfigStore, list[datetime]]]:
    """One big history shared by the module's benchmarks (it takes a minute to write)."""
    settings = load_settings(
        database_url=database_url,
        database_schema=f"bench_{uuid.uuid4().hex[:12]}",
        secret_key=TEST_SECRET_KEY,
    )
    with open_store(settings) as store:
        times = [_round(store, n) for n in range(EVENTS // ENTRIES)]
        store.projections.catch_up()
        yield store, times


def test_p6_environment_as_of_a_timestamp(
    benchmark: Any, history: tuple[ConfigStore, list[datetime]]
) -> None:
    store, _ = history
    number = random.Random(6).randrange(10, EVENTS // ENTRIES - 1)
    # Checkpoints fall every 1,000 events; the instant of the event just before the next
    # one is the worst case: 999 events replayed after the nearest checkpoint.
    instant = store.environment_at("default", (number + 1) * ENTRIES - 1).recorded_at
    assert instant is not None

    def read() -> EnvDocument:
        return store.export("default", instant, include_secrets=True)

    document = benchmark(read)
    flags = document.entries["feature_flag"]
    assert len(flags) == ENTRIES
    assert flags["flag-0007"] == _flag(number, 7)
    assert flags["flag-0999"]["description"] == f"r{number - 1}"  # not replayed yet


def test_p9_atomic_restore_of_1000_entries(
    benchmark: Any, history: tuple[ConfigStore, list[datetime]]
) -> None:
    store, times = history
    targets = iter([times[3], times[4]] * 1000)

    def restore() -> int:
        result = store.restore("default", next(targets), provenance=WHO)
        return len(result.changes)

    changed = benchmark.pedantic(restore, rounds=6, iterations=1)
    assert changed == ENTRIES


@pytest.mark.parametrize("projection", ["current", "audit", "checkpoints"])
def test_p7_rebuild_from_the_log(
    benchmark: Any, history: tuple[ConfigStore, list[datetime]], projection: str
) -> None:
    store, _ = history
    replayed = benchmark.pedantic(store.rebuild_projection, args=(projection,), rounds=1)
    assert replayed == store.projections.head()
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info["events_per_second"] = round(replayed / seconds)
