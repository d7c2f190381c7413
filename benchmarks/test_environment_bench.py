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

from benchmarks.history_figures import environment_history, flag_value
from domain.document import EnvDocument
from domain.entry import Provenance
from infrastructure.bootstrap import open_store
from infrastructure.settings import load_settings
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY

WHO = Provenance(actor="bench", source="import", correlation_id="bench")
ENTRIES = 1_000
EVENTS = 100_000


@pytest.fixture(scope="module")
def history(database_url: str) -> Iterator[tuple[ConfigStore, list[datetime]]]:
    """One big history shared by the module's benchmarks (it takes a minute to write)."""
    settings = load_settings(
        database_url=database_url,
        database_schema=f"bench_{uuid.uuid4().hex[:12]}",
        secret_key=TEST_SECRET_KEY,
    )
    with open_store(settings) as store:
        times = environment_history(store, entries=ENTRIES, events=EVENTS)
        store.projections.catch_up()
        yield store, times


def test_p6_environment_as_of_a_timestamp(
    benchmark: Any, history: tuple[ConfigStore, list[datetime]]
) -> None:
    store, times = history
    number = random.Random(6).randrange(10, len(times) - 1)
    instant = times[number]  # 999 events after the nearest checkpoint: the worst case

    def read() -> EnvDocument:
        return store.export("default", instant, include_secrets=True)

    document = benchmark(read)
    flags = document.entries["feature_flag"]
    assert len(flags) == ENTRIES
    assert flags["flag-00007"] == flag_value(number, 7)
    assert flags["flag-00999"] == flag_value(number, 999)
    view = store.environment_at("default", instant)
    assert len(view.state) == ENTRIES + 1  # and the router
    assert view.position % ENTRIES == ENTRIES - 1  # one event short of a checkpoint


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
