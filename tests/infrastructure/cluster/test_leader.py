"""Leader election on the advisory lock, against a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from infrastructure.cluster.leader import LeaderElection
from tests.network import eventually

POLL = 0.1


class Candidate:
    """One election with a log of what happened to it."""

    def __init__(self, url: str, schema: str, name: str, timeline: list[str]) -> None:
        self.name = name
        self.election = LeaderElection(
            url=url,
            schema=schema,
            name=name,
            poll_seconds=POLL,
            timeout_seconds=4,
            on_elected=lambda: timeline.append(f"+{name}"),
            on_demoted=lambda: timeline.append(f"-{name}"),
        )


@pytest.fixture
def candidates(database_url: str, schema: str) -> Iterator[Callable[[int], list[Candidate]]]:
    started: list[Candidate] = []
    timeline: list[str] = []

    def make(count: int) -> list[Candidate]:
        group = [Candidate(database_url, schema, f"c{i}", timeline) for i in range(count)]
        for candidate in group:
            candidate.election.start()
        started.extend(group)
        return group

    make.timeline = timeline  # type: ignore[attr-defined]
    yield make
    for candidate in started:
        candidate.election.stop()


def _leaders(group: list[Candidate]) -> list[str]:
    return [c.name for c in group if c.election.is_leader]


def test_exactly_one_of_three_leads(candidates: Any) -> None:
    group = candidates(3)
    eventually(lambda: len(_leaders(group)) == 1, 5)
    time.sleep(5 * POLL)  # the others keep trying and keep failing
    assert len(_leaders(group)) == 1
    assert len(candidates.timeline) == 1


def test_a_stopped_leader_hands_over_after_its_work_stopped(candidates: Any) -> None:
    group = candidates(2)
    eventually(lambda: len(_leaders(group)) == 1, 5)
    leader = next(c for c in group if c.election.is_leader)
    other = next(c for c in group if c is not leader)
    leader.election.stop()
    eventually(lambda: other.election.is_leader, 5)
    assert candidates.timeline == [f"+{leader.name}", f"-{leader.name}", f"+{other.name}"]


def test_a_leader_whose_connection_is_cut_steps_down_and_another_leads(
    candidates: Any, database_url: str
) -> None:
    group = candidates(2)
    eventually(lambda: len(_leaders(group)) == 1, 5)
    leader = next(c for c in group if c.election.is_leader)
    with psycopg.connect(database_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (f"conduit-config leader election {leader.name}",),
        ).fetchone()
    assert killed == (1,)
    other = next(c for c in group if c is not leader)
    eventually(lambda: f"-{leader.name}" in candidates.timeline, 5)
    eventually(lambda: _leaders(group) == [other.name], 5)
    # The server frees the lock as the connection dies, so the other may take it before
    # the cut leader's next poll notices: the two may overlap for up to one poll (the
    # work they run is safe to run twice), and the order of these two is not fixed.
    assert candidates.timeline[0] == f"+{leader.name}"
    assert sorted(candidates.timeline[1:]) == sorted([f"-{leader.name}", f"+{other.name}"])


def test_never_two_leaders_while_leadership_moves(candidates: Any) -> None:
    group = candidates(3)
    seen: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.append(len(_leaders(group)))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for _ in range(2):
            eventually(lambda: len(_leaders(group)) == 1, 5)
            next(c for c in group if c.election.is_leader).election.stop()
        eventually(lambda: len(_leaders(group)) == 1, 5)
    finally:
        stop.set()
        sampler.join()
    assert max(seen) == 1
    assert [e[0] for e in candidates.timeline] == ["+", "-", "+", "-", "+"]
