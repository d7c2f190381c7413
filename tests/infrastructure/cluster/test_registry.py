"""The instance registry, the consistency check and the leader's jobs."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.address import Address
from domain.entry import Provenance
from infrastructure.cluster.duties import DutyOptions, LeaderDuties
from infrastructure.cluster.node import ClusterNode, ClusterOptions
from infrastructure.cluster.registry import Beat, InstanceRegistry
from infrastructure.cluster.status import check_consistency, status_json
from infrastructure.store import ConfigStore
from tests.conftest import StoreOpener
from tests.network import eventually

WHO = Provenance(actor="cluster-test", correlation_id="c")
SPEC_FIELDS = {"id", "host", "pid", "role", "position", "lag", "last_seen", "alive"}


def _write(store: ConfigStore, count: int, env: str = "default") -> int:
    result = None
    for i in range(count):
        result = store.set(
            Address(env, "feature_flag", f"f{i % 7}"), {"rollout_percent": i % 100}, provenance=WHO
        )
    assert result is not None
    return result.position


def _beat(
    registry: InstanceRegistry, name: str, position: int, digest: str | None, head: int
) -> None:
    registry.beat(Beat(name, "h", 1, "serve", "follower", position, digest, head))


@pytest.fixture
def registry(store: ConfigStore) -> InstanceRegistry:
    return InstanceRegistry(datastore=store.app.datastore)


def test_instances_report_lag_and_liveness(store: ConfigStore, registry: InstanceRegistry) -> None:
    head = _write(store, 10)
    _beat(registry, "a", head, None, head)
    _beat(registry, "b", head - 4, None, head)
    found = {i.id: i for i in registry.instances(timeout_seconds=60)}
    assert {(i.position, i.lag, i.alive) for i in found.values()} == {
        (head, 0, True),
        (head - 4, 4, True),
    }
    time.sleep(0.3)
    assert not any(i.alive for i in registry.instances(timeout_seconds=0.2))
    shape = status_json(registry.instances(timeout_seconds=60))
    assert shape["leader"] is None
    assert all(set(item) >= SPEC_FIELDS for item in shape["instances"])
    assert registry.prune(0.1) == 2
    assert registry.instances(timeout_seconds=60) == []


def test_check_finds_an_instance_that_missed_an_event(
    store: ConfigStore, registry: InstanceRegistry
) -> None:
    head = _write(store, 12)
    good = store.index.digest_at(head).hexdigest()
    _beat(registry, "good", head, good, head)
    _beat(registry, "behind", head - 1, store.index.digest_at(head - 1).hexdigest(), head)
    report = check_consistency(store, registry, instance_timeout=60, wait_seconds=0)
    assert report.consistent and report.common_position is None
    _beat(registry, "behind", head, store.index.digest_at(head - 1).hexdigest(), head)
    report = check_consistency(store, registry, instance_timeout=60, wait_seconds=0)
    assert report.common_position == head
    assert {c.id: c.consistent for c in report.instances} == {"good": True, "behind": False}
    assert report.to_json()["consistent"] is False


def test_timed_checkpoint_covers_changed_environments_once(
    store: ConfigStore, registry: InstanceRegistry
) -> None:
    _write(store, 5, "staging")
    last = _write(store, 3, "prod")
    duties = LeaderDuties(store=store, registry=registry, options=DutyOptions())
    assert duties.checkpoint() == 2
    assert duties.checkpoint() == 0
    [prod] = store.snapshots("prod", automatic=True)
    assert (prod.name, prod.position, prod.entry_count) == (None, last, 3)
    store.set(Address("prod", "feature_flag", "new"), {"enabled": True}, provenance=WHO)
    assert duties.checkpoint() == 1


def test_watchdog_flags_lag_and_recovery(
    store: ConfigStore, registry: InstanceRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    duties = LeaderDuties(store=store, registry=registry, options=DutyOptions(lag_alert_events=3))
    head = _write(store, 5)
    _beat(registry, "slow", head - 5, None, head)
    with caplog.at_level(logging.WARNING, logger="conduit_config.cluster"):
        lagging = duties.watchdog()
    assert lagging["instance slow"] == 5
    assert lagging["projection audit"] == 5
    assert "instance slow is 5 events behind" in caplog.text
    store.projections.catch_up()
    _beat(registry, "slow", head, None, head)
    assert duties.watchdog() == {}


def test_a_node_leads_runs_the_projections_and_unregisters(
    store: ConfigStore, registry: InstanceRegistry
) -> None:
    options = ClusterOptions(leader_poll_seconds=0.1, heartbeat_seconds=0.1)
    node = ClusterNode(store=store, options=options, kind="worker", applied=lambda: (0, None))
    node.start()
    try:
        eventually(lambda: node.role == "leader")
        head = _write(store, 20)
        eventually(lambda: all(s.position == head for s in store.projection_status()))
        eventually(lambda: registry.instances(timeout_seconds=5)[0].role == "leader")
        [me] = registry.instances(timeout_seconds=5)
        assert (me.id, me.kind, me.alive) == (node.id, "worker", True)
    finally:
        node.stop()
    assert registry.instances(timeout_seconds=5) == []


def test_a_leader_whose_projection_is_stuck_steps_down_for_another(
    store: ConfigStore,
    open_test_store: StoreOpener,
    registry: InstanceRegistry,
    db: psycopg.Connection[Any],
    schema: str,
) -> None:
    duties = DutyOptions(watchdog_seconds=0.1, stall_seconds=1.0)
    options = ClusterOptions(leader_poll_seconds=0.1, heartbeat_seconds=0.1, duties=duties)
    with open_test_store() as other_store:
        nodes = [
            ClusterNode(store=s, options=options, kind="worker", applied=lambda: (0, None))
            for s in (store, other_store)
        ]
        nodes[0].start()
        eventually(lambda: nodes[0].role == "leader")
        nodes[1].start()
        try:
            with db.transaction():  # holds the audit projection: its writer waits
                db.execute(
                    SQL(
                        "SELECT position FROM {}.cc_projection_positions"
                        " WHERE name = 'audit' FOR UPDATE"
                    ).format(Identifier(schema))
                )
                head = _write(store, 5)
                eventually(lambda: nodes[0].role == "follower", 15)
            eventually(lambda: nodes[1].role == "leader", 15)
            eventually(lambda: all(s.position == head for s in store.projection_status()))
        finally:
            for node in nodes:
                node.stop()
    audit = db.execute(SQL("SELECT count(*) FROM {}.cc_audit").format(Identifier(schema)))
    assert audit.fetchone() == (5,)  # each event once, whoever wrote its row
