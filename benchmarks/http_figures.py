"""P4: HTTP GET of one entry over a keep-alive connection to a real ``conduit-config
serve`` process, next to GET /healthz on the same connection (the server's floor)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson

from benchmarks.figures import Figure, Sizes, bench_store, p50_ms
from domain.address import Address
from domain.entry import Provenance
from infrastructure.auth import TokenService
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.http.server_support import free_port

WHO = Provenance(actor="bench", source="api", correlation_id="bench")


def serve_process(
    database_url: str, schema: str, port: int, **settings: str
) -> subprocess.Popen[bytes]:
    """A ``conduit-config serve`` subprocess on the schema (``settings``: more variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDUIT_CONFIG_")}
    env.update(
        CONDUIT_CONFIG_DATABASE_URL=database_url,
        CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
        CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
        **settings,
    )
    command = [sys.executable, "-m", "infrastructure.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def served(database_url: str, schema: str) -> Iterator[str]:
    """A ``conduit-config serve`` subprocess on the schema; yields its base URL."""
    port = free_port()
    process = serve_process(database_url, schema, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("serve did not become healthy within 60 s")


def p4_figure(database_url: str, sizes: Sizes) -> Figure:
    """p50 of GET /v1/envs/default/entries/router/default, keep-alive, loopback; the
    client is the standard library's (httpx alone adds about 0.4 ms per request)."""
    with bench_store(database_url) as store:
        issued = TokenService(store=store).create("bench", role="reader", provenance=WHO)
        store.set(Address("default", "router", "default"), {"max_retries": 4}, provenance=WHO)
        with served(database_url, store.app.datastore.schema) as base:
            host, port = base.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port))
            headers = {"Authorization": f"Bearer {issued.token}"}

            def get(path: str) -> bytes:
                connection.request("GET", path, headers=headers)
                return connection.getresponse().read()

            url = "/v1/envs/default/entries/router/default"
            assert orjson.loads(get(url))["value"]["max_retries"] == 4
            floor = p50_ms(lambda: get("/healthz"), sizes.reads)
            value = p50_ms(lambda: get(url), sizes.reads)
            connection.close()
    return Figure(
        "P4",
        "HTTP GET of one entry, keep-alive",
        value,
        "ms p50",
        floor,
        value / floor,
        "p50 ≤ 1 ms",
        value <= 1.0,
        "baseline: GET /healthz on the same connection",
    )
