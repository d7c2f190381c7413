"""What the comparison runner reports: one figure per target of docs/PERFORMANCE.md, and
the sizes."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from infrastructure.bootstrap import open_store
from infrastructure.settings import load_settings
from infrastructure.store import ConfigStore
from tests.conftest import TEST_SECRET_KEY


@dataclass(frozen=True)
class Sizes:
    """Workload sizes: the targets' for the full run, reduced for ``--quick``."""

    writes: int  # commands per write measurement (P1, P2, raw baselines)
    writers: int  # concurrent writers (P2)
    versions: tuple[int, ...]  # history lengths of one entry (P5)
    reads: int  # samples per read measurement
    entries: int  # entries of the environment (P6, P9)
    events: int  # events in that environment's history (P6, P7)


FULL = Sizes(
    writes=3000,
    writers=8,
    versions=(100, 10_000, 100_000),
    reads=500,
    entries=1000,
    events=100_000,
)
QUICK = Sizes(
    writes=1000, writers=8, versions=(100, 1_000, 20_000), reads=200, entries=500, events=20_000
)


@dataclass(frozen=True)
class Figure:
    """One measured target next to its baseline; ``value`` is ``None`` when not built."""

    id: str
    what: str
    value: float | None
    unit: str
    baseline: float | None
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` record."""
        return asdict(self)


def p50_ms(action: Callable[[], object], samples: int) -> float:
    """Median wall time of ``action`` in milliseconds (after one warm-up call)."""
    action()
    times = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        action()
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1e6


@contextmanager
def bench_store(database_url: str, **overrides: Any) -> Iterator[ConfigStore]:
    """A store on a fresh schema of the benchmark database."""
    settings = load_settings(
        database_url=database_url,
        database_schema=f"cmp_{uuid.uuid4().hex[:12]}",
        secret_key=TEST_SECRET_KEY,
        **overrides,
    )
    with open_store(settings) as store:
        yield store
