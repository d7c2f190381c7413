"""F1: leader failover. Three ``serve`` processes share one schema; the leader is
killed with SIGKILL and the time until a survivor's ``/readyz`` reports ``leader`` is
measured, several rounds, with the default settings (a 1 s election poll)."""

from __future__ import annotations

import statistics
import subprocess
import time

import httpx

from benchmarks.figures import Figure, bench_store
from benchmarks.http_figures import serve_process, wait_healthy
from tests.infrastructure.http.server_support import free_port

Instance = tuple[str, subprocess.Popen[bytes]]
BOUND_SECONDS = 2.0


def _role(base: str) -> str | None:
    try:
        answer = httpx.get(base + "/readyz", timeout=1, trust_env=False)
    except httpx.TransportError:
        return None
    role = answer.json().get("role") if answer.status_code == 200 else None
    return role if isinstance(role, str) else None


def _leader(instances: list[Instance], deadline: float) -> Instance:
    while time.monotonic() < deadline:
        for instance in instances:
            if _role(instance[0]) == "leader":
                return instance
        time.sleep(0.01)
    raise RuntimeError("no leader within the deadline")


def _start(database_url: str, schema: str) -> Instance:
    port = free_port()
    process = serve_process(database_url, schema, port)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    return base, process


def failover_figure(database_url: str, rounds: int) -> Figure:
    """Seconds from ``kill -9`` of the leader to a new leader, worst of ``rounds``."""
    times = []
    with bench_store(database_url) as store:
        schema = store.app.datastore.schema
        instances = [_start(database_url, schema) for _ in range(3)]
        try:
            for _ in range(rounds):
                leader = _leader(instances, time.monotonic() + 30)
                instances.remove(leader)
                killed = time.monotonic()
                leader[1].kill()
                _leader(instances, killed + 30)
                times.append(time.monotonic() - killed)
                leader[1].wait(10)
                instances.append(_start(database_url, schema))
        finally:
            for _, process in instances:
                process.terminate()
                process.wait(10)
    worst = max(times)
    return Figure(
        "F1",
        "new leader after kill -9 of the leader (3 servers, default 1 s poll)",
        worst,
        "s worst",
        statistics.median(times),
        None,
        f"≤ {BOUND_SECONDS:g} s",
        worst <= BOUND_SECONDS,
        f"baseline: the median of {rounds} rounds",
    )
