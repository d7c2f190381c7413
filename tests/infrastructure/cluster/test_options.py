"""The cluster's options come from the settings only: ``ClusterOptions()`` and
``DutyOptions()`` hold the settings' defaults, ``from_settings`` carries every setting,
and ``CONDUIT_CONFIG_CONNECT_TIMEOUT`` reaches the leader election and the Redis mirror's
log follower."""

from __future__ import annotations

from dataclasses import asdict

from infrastructure.cluster.duties import DutyOptions
from infrastructure.cluster.node import ClusterNode, ClusterOptions
from infrastructure.cluster.redis_mirror import open_mirror
from infrastructure.settings import DEFAULTS, Settings
from infrastructure.store import ConfigStore
from tests.infrastructure.options_support import fields_differing

CHANGED = Settings(
    leader_poll_seconds=0.5,
    leader_timeout_seconds=4,
    heartbeat_seconds=0.5,
    checkpoint_minutes=3.0,
    schedule_poll_seconds=0.5,
    lag_alert_events=9,
    instance_timeout_seconds=3.5,
    leader_stall_seconds=7.0,
    connect_timeout=3,
)


def test_the_defaults_are_the_settings_defaults() -> None:
    assert fields_differing(DutyOptions(), DutyOptions.from_settings(DEFAULTS)) == []
    assert fields_differing(ClusterOptions(), ClusterOptions.from_settings(DEFAULTS)) == []


def test_each_setting_reaches_its_option() -> None:
    options = ClusterOptions.from_settings(CHANGED)
    assert asdict(options) == {
        "leader_poll_seconds": 0.5,
        "leader_timeout_seconds": 4,
        "heartbeat_seconds": 0.5,
        "duties": {
            "checkpoint_minutes": 3.0,
            "schedule_poll_seconds": 0.5,
            "lag_alert_events": 9,
            "instance_timeout_seconds": 3.5,
            "watchdog_seconds": DutyOptions().watchdog_seconds,  # not a setting
            "stall_seconds": 7.0,
        },
        "connect_timeout": 3,
    }


def test_the_connect_timeout_reaches_the_leader_election(store: ConfigStore) -> None:
    options = ClusterOptions.from_settings(Settings(connect_timeout=3))
    node = ClusterNode(store=store, options=options, kind="serve", applied=lambda: (0, None))
    assert node._election.connect_timeout == 3  # never started: nothing to stop


def test_the_connect_timeout_reaches_the_mirrors_follower(store: ConfigStore) -> None:
    # Redis is not reached: the client connects on first use, the follower on start.
    settings = Settings(redis_url="redis://127.0.0.1:9/0", connect_timeout=3)
    mirror = open_mirror(settings, store)
    assert mirror is not None
    try:
        assert mirror._follower().connect_timeout == 3
    finally:
        mirror.close()
