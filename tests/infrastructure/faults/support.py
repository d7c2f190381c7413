"""Timed HTTP calls for the fault tier: a flood of concurrent requests, and the probes
asked in turn while it lasts (each on a new connection, as a kubelet asks them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Answer:
    """One timed request: its status (``None`` when nothing came back) and seconds."""

    status: int | None
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def unavailable(self) -> bool:
        """A 503 problem saying when to retry."""
        return (
            self.status == 503
            and self.headers.get("content-type", "").startswith(PROBLEM)
            and self.headers.get("retry-after", "").isdigit()
        )


def client(*, connections: int = 1, timeout: float = 60.0) -> httpx.Client:
    """A client opening a new connection for every request (``connections`` at once);
    made once, since making one costs a TLS context."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)
    return httpx.Client(limits=limits, timeout=timeout, trust_env=False)


def timed(url: str, *, token: str | None = None, http: httpx.Client | None = None) -> Answer:
    """GET ``url`` (with ``http``, else a client of its own) and time it."""
    if http is None:
        with client() as own:
            return timed(url, token=token, http=own)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    try:
        response = http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(None, time.monotonic() - started, body=repr(exc))
    return Answer(
        response.status_code, time.monotonic() - started, dict(response.headers), response.text
    )


@dataclass
class Flood:
    """Requests in flight, and the probes answered meanwhile."""

    requests: list[Future[Answer]]
    healthz: list[Answer] = field(default_factory=list)
    readyz: list[Answer] = field(default_factory=list)

    def probe_until_done(self, base: str, *, at_least: int = 3) -> list[Answer]:
        """Ask /healthz and /readyz in turn until every request has answered (and at
        least ``at_least`` times each); returns the requests' answers."""
        with client(timeout=10) as probes:
            while len(self.healthz) < at_least or not all(f.done() for f in self.requests):
                self.healthz.append(timed(f"{base}/healthz", http=probes))
                self.readyz.append(timed(f"{base}/readyz", http=probes))
                time.sleep(0.05)
        return [f.result() for f in self.requests]


@contextmanager
def flood(url: str, *, token: str | None, count: int) -> Iterator[Flood]:
    """``count`` concurrent GETs of ``url`` while the block runs (and until they end)."""
    with client(connections=count) as http, ThreadPoolExecutor(max_workers=count) as pool:
        yield Flood([pool.submit(timed, url, token=token, http=http) for _ in range(count)])


def summary(answers: list[Answer]) -> str:
    """Statuses and the slowest time, for assertion messages."""
    statuses = sorted({str(a.status) for a in answers})
    slowest = max((a.seconds for a in answers), default=0.0)
    return f"{len(answers)} answers, statuses {statuses}, slowest {slowest:.2f} s"
