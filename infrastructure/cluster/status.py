"""``cluster status`` and ``cluster check``: who is there, who leads, how far behind,
and whether every instance's state matches the log at the position it reports."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from infrastructure.cluster.registry import InstanceInfo, InstanceRegistry
from infrastructure.persistence.errors import storage_errors
from infrastructure.store import ConfigStore


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
        """True when at least one instance was checked and each matches the log."""
        return bool(self.instances) and all(c.consistent for c in self.instances)

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


def _reporting(
    registry: InstanceRegistry, *, instance_timeout: float, target: int, wait_seconds: float
) -> list[InstanceInfo]:
    """The live instances that report a digest, once all have reached ``target`` (or
    ``wait_seconds`` passed)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        live = [
            i
            for i in registry.instances(timeout_seconds=instance_timeout)
            if i.alive and i.digest is not None
        ]
        if min((i.position for i in live), default=target) >= target:
            return live
        if time.monotonic() >= deadline:
            return live
        time.sleep(0.2)


def check_consistency(
    store: ConfigStore,
    registry: InstanceRegistry,
    *,
    instance_timeout: float,
    wait_seconds: float,
) -> ConsistencyReport:
    """Wait (up to ``wait_seconds``) for every live server to reach the log head seen at
    the start, then compare each one's digest with the log's at its position. Raises
    :class:`StorageError`."""
    target = store.index.head()
    live = _reporting(
        registry, instance_timeout=instance_timeout, target=target, wait_seconds=wait_seconds
    )
    expected: dict[int, str] = {}
    checks = []
    for info in live:
        if info.position not in expected:
            with storage_errors():
                expected[info.position] = store.index.digest_at(info.position).hexdigest()
        checks.append(
            InstanceCheck(info.id, info.position, info.digest or "", expected[info.position])
        )
    positions = {c.position for c in checks}
    return ConsistencyReport(positions.pop() if len(positions) == 1 else None, checks)
