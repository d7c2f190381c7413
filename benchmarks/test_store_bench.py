"""Micro benchmarks of the store: one durable set, reads at several history lengths.

Indicative figures only; the targets in docs/PERFORMANCE.md are checked by the comparison
runner (issue 4), not here.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore

WHO = Provenance(actor="bench", correlation_id="bench")
ROUTER = Address("default", "router", "default")


def test_durable_set(benchmark: Any, store: ConfigStore) -> None:
    counter = iter(range(10**9))
    benchmark(lambda: store.set(ROUTER, {"max_retries": next(counter) % 11}, provenance=WHO))
    # Consecutive values always differ, so every call appended exactly one version.
    assert store.get(ROUTER).version == next(counter)


@pytest.mark.parametrize("versions", [100, 1000])
def test_read_at_version(benchmark: Any, store: ConfigStore, versions: int) -> None:
    for i in range(versions):
        store.set(ROUTER, {"max_retries": i % 11}, provenance=WHO)
    view = benchmark(lambda: store.get(ROUTER, version=versions // 2 + 7))
    assert view.stored == {"max_retries": (versions // 2 + 6) % 11}
