"""The store (no server) behind a gate: a call fails within the database timeout when
the database is unreachable, at once while the failure is known, without the library's
ten retries, and works again within about a second of the database's return."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from domain.address import Address
from domain.entry import Provenance
from infrastructure.bootstrap import open_store
from infrastructure.errors import StorageError
from infrastructure.settings import Settings
from infrastructure.store import ConfigStore
from tests.network import Gate, eventually

ROUTER = Address("default", "router", "default")
WHO = Provenance(actor="tester", correlation_id=str(uuid.uuid4()))
MARGIN = 2.0


def failure_seconds(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(StorageError, match="database unavailable"):
        call()
    return time.monotonic() - started


def reads(store: ConfigStore) -> bool:
    try:
        return store.get(ROUTER).version == 1
    except StorageError:
        return False


def test_cut_then_vanished_then_back(
    make_settings: Callable[..., Settings], gated_url: str, gate: Gate
) -> None:
    timeout = 1.5
    settings = make_settings(database_url=gated_url, database_timeout_seconds=timeout)
    with open_store(settings) as store:
        store.set(ROUTER, {"max_retries": 3}, provenance=WHO)
        gate.cut()
        # The pooled connections died: one retry finds the database refusing.
        assert failure_seconds(lambda: store.get(ROUTER)) < 1.0
        # Known down: at once (a write first finds its own connection dead: one retry).
        assert failure_seconds(lambda: store.get(ROUTER)) < 0.1
        assert failure_seconds(lambda: store.set(ROUTER, {}, provenance=WHO)) < 0.5
        assert failure_seconds(lambda: store.set(ROUTER, {}, provenance=WHO)) < 0.1
        assert store.app.health.down is not None

        gate.open()
        eventually(lambda: reads(store), timeout=3, what="a read after the database came back")
        assert store.app.health.down is None

        gate.blackhole()  # connecting hangs (until the connect timeout, 10 s)
        time.sleep(1.1)  # past the cool-down of any failure seen so far
        assert failure_seconds(lambda: store.get(ROUTER)) < timeout + MARGIN
        assert failure_seconds(store.projection_status) < 0.1

        gate.open()
        eventually(lambda: reads(store), timeout=3, what="a read after the host came back")
        assert store.set(ROUTER, {"max_retries": 4}, provenance=WHO).version == 2
