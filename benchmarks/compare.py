"""Side-by-side comparison runner: every target in docs/PERFORMANCE.md next to its
baseline, in one run on the same PostgreSQL.

    python -m benchmarks.compare [--quick] [--json FILE]

The database is ``CONDUIT_CONFIG_TEST_DATABASE_URL``'s server, else an embedded one;
a scratch database is created and dropped. Exit code 0 whether or not targets are met
(it measures; it does not gate), 1 if a measurement fails.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import orjson
import psutil

from benchmarks.cluster_figures import failover_figure
from benchmarks.console_figures import c1_figures
from benchmarks.figures import FULL, QUICK, Figure, Sizes
from benchmarks.history_figures import environment_figures, p5_figures
from benchmarks.http_figures import p4_figure
from benchmarks.live_figures import m1_figure, p3_figure, p8_figure
from benchmarks.write_figures import write_figures
from tests.support import scratch_database


def _dict_lookup_ns() -> float:
    """Baseline of P3: a plain dict lookup, median of many, in nanoseconds."""
    table = {f"feature_flag/f{i}": {"enabled": True} for i in range(10_000)}
    key = "feature_flag/f4242"
    samples = []
    for _ in range(200):
        started = time.perf_counter_ns()
        for _ in range(1000):
            table[key]
        samples.append((time.perf_counter_ns() - started) / 1000)
    return statistics.median(samples)


def measure(database_url: str, sizes: Sizes) -> list[Figure]:
    """Every figure, in the order of docs/PERFORMANCE.md's targets."""
    figures = [*write_figures(database_url, sizes)]
    figures.append(p3_figure(database_url, _dict_lookup_ns() / 1000))
    figures.append(p4_figure(database_url, sizes))
    figures.append(p8_figure(database_url, sizes))
    figures.append(m1_figure(database_url))
    figures += p5_figures(database_url, sizes)
    figures += environment_figures(database_url, sizes)
    figures.append(failover_figure(database_url, rounds=3 if sizes is QUICK else 5))
    figures += c1_figures(database_url, sizes)
    order = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "M1", "C1", "F1"]
    return sorted(figures, key=lambda f: order.index(f.id.split("@")[0]))


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def markdown(figures: list[Figure]) -> str:
    """The results as a markdown table."""
    lines = [
        "| id | figure | value | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        value = f"{_number(f.value)} {f.unit}".strip() if f.value is not None else f.note
        met = "-" if f.met is None else "yes" if f.met else "**no**"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        cells = [f.id, f.what, value, _number(f.baseline), ratio, f.target, met]
        lines.append("| " + " | ".join(cells) + " |")
        if f.note and f.value is not None:
            lines[-1] += f" {f.note}"
    return "\n".join(lines)


def machine() -> str:
    """One line describing where the figures were measured."""
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()}, {psutil.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print (and optionally save) the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare")
    parser.add_argument("--quick", action="store_true", help="reduced sizes (< 3 minutes)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write JSON results")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    with scratch_database() as url:
        figures = measure(url, sizes)
    print(markdown(figures))
    print(
        f"\n{machine()}; {'quick' if args.quick else 'full'} run in "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.json is not None:
        args.json.write_bytes(
            orjson.dumps([f.to_json() for f in figures], option=orjson.OPT_INDENT_2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
