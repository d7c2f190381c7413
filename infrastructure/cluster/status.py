"""``cluster status`` and ``cluster check``: who is there, who leads, how far behind,
and whether every instance's state matches the log at the position it reports."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from infrastructure.cluster.registry import InstanceInfo, InstanceRegistry
from infrastructure.persistence.errors import storage_errors
from infrastructure.store import ConfigStore
from projections.digest import digest_of


def status_json(instances: list[InstanceInfo]) -> dict[str, Any]:
    """The ``cluster status --json`` shape (also ``GET /v1/cluster``)."""
    leaders = [i.id for i in instances if i.alive and i.role == "leader"]
    return {
        "leader": leaders[0] if leaders else None,
        "instances": [
            {
                "id": i.id,
                "host": i.host,
                "pid": i.pid,
                "kind": i.kind,
                "role": i.role,
                "position": i.position,
                "lag": i.lag,
                "last_seen": i.last_seen.isoformat(),
                "started_at": i.started_at.isoformat(),
                "alive": i.alive,
            }
            for i in instances
        ],
    }


@dataclass(frozen=True)
class InstanceCheck:
    """One instance's reported digest against the log's at its position."""

    id: str
    position: int
    digest: str
    expected: str

    @property
    def consistent(self) -> bool:
        """Whether the instance holds exactly the log's state at its position."""
        return self.digest == self.expected


@dataclass(frozen=True)
class ConsistencyReport:
    """The result of a check; ``common_position`` is set when every instance reported
    the same position (they were then compared with each other as well as the log)."""

    common_position: int | None
    instances: list[InstanceCheck]

    @property
    def consistent(self) -> bool:
        """True when every checked instance matches the log."""
        return all(c.consistent for c in self.instances)

    def to_json(self) -> dict[str, Any]:
        """The ``cluster check --json`` shape."""
        return {
            "consistent": self.consistent,
            "common_position": self.common_position,
            "instances": [
                {
                    "id": c.id,
                    "position": c.position,
                    "digest": c.digest,
                    "expected": c.expected,
                    "consistent": c.consistent,
                }
                for c in self.instances
            ],
        }


def check_consistency(
    store: ConfigStore,
    registry: InstanceRegistry,
    *,
    instance_timeout: float,
    wait_seconds: float,
) -> ConsistencyReport:
    """Wait (up to ``wait_seconds``) for every live instance that reports a digest to
    reach the log head seen at the start, then compare each digest with the log's at
    the instance's position. Raises :class:`StorageError`."""
    target = store.index.head()
    deadline = time.monotonic() + wait_seconds
    while True:
        live = [
            i
            for i in registry.instances(timeout_seconds=instance_timeout)
            if i.alive and i.digest is not None
        ]
        positions = {i.position for i in live}
        if (len(positions) <= 1 and min(positions, default=target) >= target) or (
            time.monotonic() >= deadline
        ):
            break
        time.sleep(0.2)
    expected: dict[int, str] = {}
    checks = []
    for info in live:
        if info.position not in expected:
            with storage_errors():
                versions = store.index.versions_at(info.position)
            expected[info.position] = digest_of(versions)
        assert info.digest is not None
        checks.append(InstanceCheck(info.id, info.position, info.digest, expected[info.position]))
    common = positions.pop() if len(positions) == 1 else None
    return ConsistencyReport(common, checks)
