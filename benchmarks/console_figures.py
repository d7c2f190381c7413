"""C1: server time to render the console's area page and audit page of an environment
with 1,000 entries, over a keep-alive connection to a real ``conduit-config serve``
process, next to ``GET /v1/envs/{env}/entries`` (the API's list of the same entries) on
a connection of its own."""

from __future__ import annotations

import http.client
import re

import httpx
import orjson

from benchmarks.figures import FULL, Figure, Sizes, bench_store, p50_ms
from benchmarks.http_figures import WHO, served
from domain.address import Address
from infrastructure.auth import TokenService
from infrastructure.store import ConfigStore

ENV = "bench"
AREA = "feature_flag"
ENTRIES = 1000  # the target's size, in the quick run too: only the samples shrink
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _fill(store: ConfigStore, entries: int) -> None:
    """``entries`` feature flags in ``ENV``, each written once (one audit row each)."""
    for i in range(entries):
        value = {"enabled": i % 2 == 0, "rollout_percent": i % 101, "description": f"flag {i}"}
        store.set(Address(ENV, AREA, f"flag-{i:04d}"), value, provenance=WHO)


def _session_cookie(base: str, token: str) -> str:
    """Sign in through the console's form; the ``Cookie`` header of the session."""
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
        form = http.get("/ui/login")
        found = _CSRF.search(form.text)
        assert found, "no csrf field on the sign-in page"
        data = {"csrf": found.group(1), "token": token, "next": "/ui/"}
        answer = http.post("/ui/login", data=data, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


class _Connection:
    """GETs over one keep-alive connection (the standard library's client, as P4); a
    non-200 answer fails the measurement."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port))
        self.headers = headers

    def get(self, path: str) -> bytes:
        self.connection.request("GET", path, headers=self.headers)
        answer = self.connection.getresponse()
        body = answer.read()
        assert answer.status == 200, (path, answer.status, body[:300])
        return body

    def close(self) -> None:
        self.connection.close()


def _samples(sizes: Sizes) -> int:
    return 100 if sizes is FULL else 30


def c1_figures(database_url: str, sizes: Sizes) -> list[Figure]:
    """p50 of rendering ``/ui/envs/bench/areas/feature_flag`` (first page, 100 rows) and
    ``/ui/audit?env=bench`` (first page, 50 rows) for an admin's session, against the
    p50 of ``GET /v1/envs/bench/entries`` (all 1,000 entries as JSON) for an admin token."""
    with bench_store(database_url) as store:
        issued = TokenService(store=store).create("bench", role="admin", provenance=WHO)
        _fill(store, ENTRIES)
        with served(database_url, store.app.datastore.schema) as base:
            bearer = _Connection(base, {"Authorization": f"Bearer {issued.token}"})
            session = _Connection(base, {"Cookie": _session_cookie(base, issued.token)})
            api, ui = bearer.get, session.get
            listed = orjson.loads(api(f"/v1/envs/{ENV}/entries"))["items"]
            assert len(listed) == ENTRIES
            assert b"flag-0099" in ui(f"/ui/envs/{ENV}/areas/{AREA}")
            n = _samples(sizes)
            baseline = p50_ms(lambda: api(f"/v1/envs/{ENV}/entries"), n)
            pages = {
                "area": (f"/ui/envs/{ENV}/areas/{AREA}", "area page (100 of 1,000 entries)"),
                "audit": (f"/ui/audit?env={ENV}", "audit page (50 of 1,000 rows)"),
            }
            timed = {name: p50_ms(lambda p=path: ui(p), n) for name, (path, _) in pages.items()}
            bearer.close()
            session.close()
    return [_figure(name, what, timed[name], baseline, n) for name, (_, what) in pages.items()]


def _figure(name: str, what: str, value: float, baseline: float, samples: int) -> Figure:
    return Figure(
        f"C1@{name}",
        f"console {what}",
        value,
        "ms p50",
        baseline,
        value / baseline,
        "p50 ≤ 50 ms",
        value <= 50.0,
        f"baseline: GET /v1/envs/{ENV}/entries (1,000 entries); {samples} samples",
    )
