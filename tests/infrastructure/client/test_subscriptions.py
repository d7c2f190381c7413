"""Subscriptions: typed old/new values in log order, exactly once; filters; a slow or
failing subscriber harms nobody else; closing stops deliveries; async iteration."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from domain.areas import CacheConfig, FeatureFlag, RouterConfig
from infrastructure.client import ConfigClient, LiveChange
from infrastructure.errors import StorageError
from tests.infrastructure.client.conftest import ClientFor, Write
from tests.network import eventually


class Recorder:
    """A callback that records every change it is given (thread-safe)."""

    def __init__(self, *, sleep: float = 0.0, fail_on: set[int] | None = None) -> None:
        self.changes: list[LiveChange] = []
        self.threads: set[str] = set()
        self._sleep = sleep
        self._fail_on = fail_on or set()
        self._lock = threading.Lock()

    def __call__(self, change: LiveChange) -> None:
        with self._lock:
            self.changes.append(change)
            self.threads.add(threading.current_thread().name)
            count = len(self.changes)
        if self._sleep:
            time.sleep(self._sleep)
        if count in self._fail_on:
            raise RuntimeError(f"subscriber bug on change {count}")

    def positions(self) -> list[int]:
        with self._lock:
            return [c.position for c in self.changes]

    def wait(self, count: int, timeout: float = 10.0) -> None:
        eventually(lambda: len(self.changes) >= count, timeout, f"{count} changes")


def test_old_and_new_typed_values_in_log_order_exactly_once(
    client_for: ClientFor, write: Write
) -> None:
    client = client_for("prod")
    recorder = Recorder()
    client.on_change(recorder)
    positions = [
        write("set", "prod", "router", "default", {"max_retries": n}).position for n in (1, 2)
    ]
    positions.append(write("patch", "prod", "router", "default", {"max_retries": None}).position)
    positions.append(write("set", "prod", "cache", "a", {"max_entries": 5}).position)
    positions.append(write("delete", "prod", "cache", "a").position)
    positions.append(write("undelete", "prod", "cache", "a").position)
    positions.append(write("rollback", "prod", "router", "default", to_version=1).position)
    client.wait_for(positions[-1])
    recorder.wait(len(positions))
    time.sleep(0.3)  # nothing more arrives
    assert recorder.positions() == positions
    summary = [(c.area, c.key, c.version, c.event, c.old, c.new) for c in recorder.changes]
    assert summary == [
        ("router", "default", 1, "created", RouterConfig(), RouterConfig(max_retries=1)),
        (
            "router",
            "default",
            2,
            "replaced",
            RouterConfig(max_retries=1),
            RouterConfig(max_retries=2),
        ),
        ("router", "default", 3, "changed", RouterConfig(max_retries=2), RouterConfig()),
        ("cache", "a", 1, "created", None, CacheConfig(max_entries=5)),
        ("cache", "a", 2, "deleted", CacheConfig(max_entries=5), None),
        ("cache", "a", 3, "restored", None, CacheConfig(max_entries=5)),
        ("router", "default", 4, "rolled_back", RouterConfig(), RouterConfig(max_retries=1)),
    ]
    assert all(isinstance(c.new, RouterConfig) for c in recorder.changes if c.area == "router")
    assert all(t != threading.current_thread().name for t in recorder.threads)


def test_the_clients_own_writes_are_delivered_too(client_for: ClientFor) -> None:
    client = client_for("prod")
    recorder = Recorder()
    client.on_change(recorder)
    first = client.set("feature_flag", "beta", {"enabled": True})
    second = client.patch("feature_flag", "beta", {"rollout_percent": 10})
    recorder.wait(2)
    assert recorder.positions() == [first.position, second.position]
    assert recorder.changes[1].new == FeatureFlag(enabled=True, rollout_percent=10)


def test_other_environments_are_not_delivered(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    recorder = Recorder()
    client.on_change(recorder)
    write("set", "staging", "router", "default", {"max_retries": 1})
    last = write("set", "prod", "router", "default", {"max_retries": 2}).position
    client.wait_for(last)
    recorder.wait(1)
    time.sleep(0.2)
    assert recorder.positions() == [last]


def test_area_and_key_filters(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    everything, caches, one_cache, flags = Recorder(), Recorder(), Recorder(), Recorder()
    client.on_change(everything)
    client.on_change(caches, area="cache")
    client.on_change(one_cache, area="cache", key="b")
    client.on_change(flags, area="feature_flag", key="b")
    a = write("set", "prod", "cache", "a", {}).position
    b = write("set", "prod", "cache", "b", {}).position
    r = write("set", "prod", "router", "default", {"max_retries": 1}).position
    f = write("set", "prod", "feature_flag", "b", {}).position
    client.wait_for(f)
    everything.wait(4)
    time.sleep(0.3)
    assert everything.positions() == [a, b, r, f]
    assert caches.positions() == [a, b]
    assert one_cache.positions() == [b]
    assert flags.positions() == [f]


def test_a_slow_subscriber_delays_neither_others_nor_the_cache(
    client_for: ClientFor, write: Write
) -> None:
    client = client_for("prod")
    slow, fast = Recorder(sleep=1.5), Recorder()
    client.on_change(slow)
    client.on_change(fast)
    started = time.monotonic()
    positions = [write("set", "prod", "cache", f"k{n}", {}).position for n in range(3)]
    client.wait_for(positions[-1], timeout=5)
    assert time.monotonic() - started < 1.2  # the cache did not wait for the slow one (1.5 s)
    assert client.get("cache", "k2") == CacheConfig()
    fast.wait(3, timeout=1.0)
    assert fast.positions() == positions
    assert len(slow.changes) <= 1  # still busy with the first
    slow.wait(3, timeout=10)
    assert slow.positions() == positions  # in order, none lost


def test_a_failing_subscriber_keeps_receiving(
    client_for: ClientFor, write: Write, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for("prod")
    failing, other = Recorder(fail_on={1, 2}), Recorder()
    with caplog.at_level(logging.ERROR, logger="conduit_config.client"):
        client.on_change(failing)
        client.on_change(other)
        positions = [write("set", "prod", "cache", f"k{n}", {}).position for n in range(4)]
        failing.wait(4)
        other.wait(4)
    assert failing.positions() == positions
    assert other.positions() == positions
    failures = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info is not None
    assert "subscriber bug on change 1" in str(failures[0].exc_info[1])
    assert str(positions[0]) in failures[0].getMessage()


def test_close_stops_deliveries(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    closed, kept = Recorder(), Recorder()
    subscription = client.on_change(closed)
    client.on_change(kept)
    first = write("set", "prod", "cache", "a", {}).position
    closed.wait(1)
    subscription.close()
    subscription.close()  # idempotent
    second = write("set", "prod", "cache", "b", {}).position
    kept.wait(2)
    time.sleep(0.3)
    assert closed.positions() == [first]
    assert kept.positions() == [first, second]


def test_the_context_manager_stops_deliveries(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    recorder = Recorder()
    with client.on_change(recorder, area="cache") as subscription:
        first = write("set", "prod", "cache", "a", {}).position
        recorder.wait(1)
        assert subscription.area == "cache"
    write("set", "prod", "cache", "b", {})
    last = write("set", "prod", "cache", "c", {}).position
    client.wait_for(last)
    time.sleep(0.3)
    assert recorder.positions() == [first]


def test_closing_the_client_closes_its_subscriptions(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    recorder = Recorder()
    client.on_change(recorder)
    first = write("set", "prod", "cache", "a", {}).position
    recorder.wait(1)
    before = {t.name for t in threading.enumerate()}
    assert "config-subscriber" in before
    client.close()
    write("set", "prod", "cache", "b", {})
    time.sleep(1.2)  # more than a follower poll
    assert recorder.positions() == [first]


def test_a_subscription_sees_only_later_changes(client_for: ClientFor, write: Write) -> None:
    earlier = write("set", "prod", "cache", "a", {}).position
    client = client_for("prod")
    assert client.position == earlier
    recorder = Recorder()
    client.on_change(recorder)
    later = write("set", "prod", "cache", "b", {}).position
    recorder.wait(1)
    time.sleep(0.2)
    assert recorder.positions() == [later]


def test_wait_for_times_out_with_a_storage_error(client_for: ClientFor) -> None:
    client = client_for("prod")
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"not reached within 0\.3s"):
        client.wait_for(client.position + 1, timeout=0.3)
    assert 0.25 < time.monotonic() - started < 2


def _collect(client: ConfigClient, write: Write, count: int, **filters: str) -> list[LiveChange]:
    async def main() -> list[LiveChange]:
        got: list[LiveChange] = []

        async def consume() -> None:
            async for change in client.changes(**filters):
                got.append(change)
                if len(got) == count:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.1)  # subscribed
        await asyncio.to_thread(write, "set", "prod", "router", "default", {"max_retries": 1})
        await asyncio.to_thread(write, "set", "prod", "cache", "a", {"max_entries": 1})
        await asyncio.to_thread(write, "set", "prod", "cache", "a", {"max_entries": 2})
        await asyncio.wait_for(task, timeout=10)
        return got

    return asyncio.run(main())


def test_async_iteration(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    got = _collect(client, write, 3)
    assert [(c.area, c.version) for c in got] == [("router", 1), ("cache", 1), ("cache", 2)]
    assert got[0].new == RouterConfig(max_retries=1)


def test_async_iteration_with_an_area(client_for: ClientFor, write: Write) -> None:
    client = client_for("prod")
    got = _collect(client, write, 2, area="cache")
    assert [(c.old, c.new) for c in got] == [
        (None, CacheConfig(max_entries=1)),
        (CacheConfig(max_entries=1), CacheConfig(max_entries=2)),
    ]
    # leaving the loop closed the subscription
    assert client._subscriptions == []


def test_async_iteration_times_out_when_nothing_changes(client_for: ClientFor) -> None:
    client = client_for("prod")

    async def main() -> None:
        async def first() -> LiveChange:
            async for change in client.changes(area="cache"):
                return change
            raise AssertionError("unreachable")

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first(), timeout=0.5)

    asyncio.run(main())
    eventually(lambda: client._subscriptions == [], 5, "the subscription closed")
