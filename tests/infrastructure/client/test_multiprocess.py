"""Three client processes follow one store while a fourth actor writes: each ends at the
log's head, having been told of every change of its environment once, in log order, and
serves the store's values."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infrastructure.store import ConfigStore
from tests.cli.conftest import clean_env
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.client.follow_support import (
    Workload,
    logged_changes,
    stored_values,
)

ROOT = Path(__file__).resolve().parents[3]
MODULE = "tests.infrastructure.client.follow_support"
WRITES = 500
SEED_WRITES = 30
#: (environment, keep a last-known-good copy) of each follower process.
FOLLOWERS = [("production", False), ("production", False), ("staging", True)]


class Follower:
    """One follower process and where it writes its report."""

    def __init__(self, index: int, environment: str, keep_copy: bool, env: dict[str, str]):
        self.environment = environment
        self.result = Path(env["CONDUIT_CONFIG_HOME"]) / "result.json"
        self.stderr_path = Path(env["CONDUIT_CONFIG_HOME"]) / "stderr.txt"
        self.stderr_path.parent.mkdir(parents=True)
        self.name = f"follower {index} ({environment})"
        args = [str(self.result), *(["lkg"] if keep_copy else [])]
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", MODULE, environment, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=ROOT,
            )

    def ready(self, deadline: float) -> int:
        """Wait for ``READY <position>``; returns the position it started from."""
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if readable:
                line = self.proc.stdout.readline()
                assert line.startswith("READY "), f"{self.name}: {line!r}{self.stderr()}"
                return int(line.split()[1])
            assert self.proc.poll() is None, f"{self.name} exited{self.stderr()}"
        pytest.fail(f"{self.name} not ready in time{self.stderr()}")

    def finish(self, target: int, deadline: float) -> dict[str, object]:
        """Send the target position; wait for the process; its report."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{target}\n")
        self.proc.stdin.close()
        code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert code == 0, f"{self.name} exited with {code}{self.stderr()}"
        report: dict[str, object] = json.loads(self.result.read_text())
        return report

    def stderr(self) -> str:
        text = self.stderr_path.read_text() if self.stderr_path.exists() else ""
        return f"\n--- stderr of {self.name} ---\n{text[-4000:]}" if text else ""

    def stop(self) -> None:
        """Kill the process if it still runs (always called)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def start_followers(
    database_url: str, schema: str, tmp_path: Path
) -> Iterator[Callable[[], list[Follower]]]:
    """Starts the follower processes; they are killed at the end whatever happens."""
    started: list[Follower] = []

    def start() -> list[Follower]:
        for index, (environment, keep_copy) in enumerate(FOLLOWERS):
            env = clean_env(
                CONDUIT_CONFIG_DATABASE_URL=database_url,
                CONDUIT_CONFIG_DATABASE_SCHEMA=schema,
                CONDUIT_CONFIG_SECRET_KEY=TEST_SECRET_KEY,
                CONDUIT_CONFIG_HOME=str(tmp_path / f"follower-{index}"),
                CONDUIT_CONFIG_ACTOR=f"follower-{index}",
            )
            env = {k: v for k, v in env.items() if not k.startswith("CONDUIT__")}
            started.append(Follower(index, environment, keep_copy, env))
        return started

    try:
        yield start
    finally:
        for follower in started:
            follower.stop()


def test_three_processes_follow_a_writer_exactly_once(
    store: ConfigStore, start_followers: Callable[[], list[Follower]]
) -> None:
    workload = Workload(["production", "staging"], seed=7, weights=[3, 1])
    # The processes start when the store already holds some entries (loaded, not told).
    for _ in range(SEED_WRITES):
        workload.step(store)
    seeded = store.projections.head()
    followers = start_followers()
    deadline = time.monotonic() + 60
    starts = [follower.ready(deadline) for follower in followers]
    assert starts == [seeded] * len(followers)

    results = [workload.step(store) for _ in range(WRITES)]
    assert all(result.changed for result in results)
    head = store.projections.head()
    assert head == results[-1].position
    reports = [follower.finish(head, deadline) for follower in followers]

    events = {env: logged_changes(store, env, after=seeded) for env in ("production", "staging")}
    assert sum(len(changes) for changes in events.values()) == WRITES
    kinds = {change[4] for changes in events.values() for change in changes}
    assert {"created", "replaced", "changed", "deleted", "restored", "rolled_back"} <= kinds
    for follower, report in zip(followers, reports, strict=True):
        expected = events[follower.environment]
        seen = report["changes"]
        assert isinstance(seen, list)
        assert report["position"] == head, follower.name
        assert (report["connected"], report["last_error"]) == (True, None), follower.name
        positions = [change[0] for change in seen]
        assert positions == sorted(set(positions)), f"{follower.name}: repeats or disorder"
        assert seen == expected, follower.name
        assert report["values"] == stored_values(store, follower.environment), follower.name
    copy = followers[2].result.parent / "last-known-good" / "staging.json"
    body = copy.read_bytes().partition(b"\n")[2]
    assert json.loads(body)["position"] == head  # the copy is saved on close
