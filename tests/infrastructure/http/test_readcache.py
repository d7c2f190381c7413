"""The server's cache of current entries: it never serves a version older than one it
served, catches changes made elsewhere, and reads back this server's writes at once."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from domain.address import Address
from domain.entry import Provenance
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers

WHO = Provenance(actor="elsewhere", source="cli", correlation_id="other-instance")
URL = "/v1/envs/prod/entries/feature_flag/f"
FLAG = Address("prod", "feature_flag", "f")


def version(client: TestClient, admin: Headers) -> int:
    response = client.get(URL, headers=admin)
    assert response.status_code == 200, response.text
    return int(response.headers["etag"].strip('"'))


def test_changes_made_elsewhere_reach_the_cache(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {"rollout_percent": 1}, provenance=WHO)
    assert version(client, admin) == 1
    assert version(client, admin) == 1  # now from memory
    store.set(FLAG, {"rollout_percent": 2}, provenance=WHO)  # not through this server
    deadline = time.monotonic() + 5
    while version(client, admin) != 2:
        assert time.monotonic() < deadline, "the cache kept version 1"
        time.sleep(0.01)
    assert client.get(URL, headers=admin).json()["value"]["rollout_percent"] == 2


def test_reads_racing_writes_never_go_back(
    client: TestClient, admin: Headers, store: ConfigStore
) -> None:
    store.set(FLAG, {"rollout_percent": 0}, provenance=WHO)
    done = threading.Event()

    def write() -> None:
        for i in range(1, 120):
            store.set(FLAG, {"rollout_percent": i % 101}, provenance=WHO)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = [version(client, admin)]
    while not done.is_set():
        seen.append(version(client, admin))
    writer.join()
    assert seen == sorted(seen)  # monotonic: no stale entry was stored over a newer one
    deadline = time.monotonic() + 5
    while version(client, admin) != 120:
        assert time.monotonic() < deadline, f"stuck at {version(client, admin)}"
        time.sleep(0.01)


def test_writes_through_the_server_are_read_back_at_once(
    client: TestClient, admin: Headers
) -> None:
    for i in range(20):
        written = client.put(URL, json={"rollout_percent": i}, headers=admin).json()
        assert version(client, admin) == written["version"]
        applied = client.post(
            "/v1/envs/prod/apply",
            json={"entries": {"feature_flag": {"f": {"rollout_percent": 50 + i}}}},
            headers=admin,
        ).json()
        assert client.get(URL, headers=admin).json()["value"]["rollout_percent"] == 50 + i
        assert applied["applied"]
