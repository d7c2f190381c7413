"""Retry policies: each named policy's attempts and waits (with a fake sleep and a fake
random draw), and the lost-connection retry built on one. No database."""

from __future__ import annotations

import itertools

import pytest
from eventsourcing.persistence import InterfaceError, OperationalError

from infrastructure.persistence.outage import call_retrying_lost
from infrastructure.retry import (
    ENVIRONMENT_RACE,
    HTTP_ANY_VERSION,
    LOST_CONNECTION,
    RECONNECT_BACKOFF,
    REPAIR_RUN_KEY,
    SCHEDULE_RACE,
    WRITE_RACE,
    RetryPolicy,
)


class Draws:
    """A fake ``random.uniform``: records each range and answers its top (or bottom)."""

    def __init__(self, *, top: bool = True) -> None:
        self.top = top
        self.ranges: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return high if self.top else low


def run(policy: RetryPolicy, rng: Draws | None = None) -> tuple[list[int], list[float]]:
    """The attempt numbers ``policy.tries`` yields and the waits it sleeps."""
    slept: list[float] = []
    attempts = list(policy.tries(sleep=slept.append, rng=rng or Draws()))
    return attempts, slept


def test_write_race_sixty_attempts_linear_full_jitter_capped_at_ten_steps() -> None:
    draws = Draws()
    attempts, slept = run(WRITE_RACE, draws)
    assert attempts == list(range(60))
    expected = [0.002 * min(n, 10) for n in range(1, 60)]
    assert [low for low, _ in draws.ranges] == [0] * 59
    assert [high for _, high in draws.ranges] == pytest.approx(expected)
    assert slept == pytest.approx(expected)
    assert WRITE_RACE.attempts == 60  # named in "kept winning after 60 attempts"


@pytest.mark.parametrize(
    ("policy", "attempts"),
    [(ENVIRONMENT_RACE, 20), (SCHEDULE_RACE, 5), (REPAIR_RUN_KEY, 5), (HTTP_ANY_VERSION, 5)],
)
def test_races_retry_at_once(policy: RetryPolicy, attempts: int) -> None:
    draws = Draws()
    assert run(policy, draws) == (list(range(attempts)), [])
    assert draws.ranges == []
    assert policy.attempts == attempts


def test_lost_connection_three_attempts_a_fifth_of_a_second_apart() -> None:
    draws = Draws()
    assert run(LOST_CONNECTION, draws) == ([0, 1, 2], [0.2, 0.2])
    assert draws.ranges == []
    assert [LOST_CONNECTION.is_last(n) for n in range(3)] == [False, False, True]


def test_reconnect_backoff_doubles_from_a_fifth_to_five_seconds_half_jittered() -> None:
    highest = [RECONNECT_BACKOFF.delay(n, Draws()) for n in range(1, 9)]
    assert highest == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])
    lowest = [RECONNECT_BACKOFF.delay(n, Draws(top=False)) for n in range(1, 9)]
    assert lowest == pytest.approx([w / 2 for w in highest])
    draws = Draws()
    RECONNECT_BACKOFF.delay(3, draws)
    assert draws.ranges == [(0.5, 1)]
    assert RECONNECT_BACKOFF.longest_wait == 5.0


def test_reconnect_backoff_never_overflows_and_never_runs_out() -> None:
    assert RECONNECT_BACKOFF.delay(100_000, Draws()) == 5.0  # 2.0**100000 would overflow
    slept: list[float] = []
    tries = RECONNECT_BACKOFF.tries(sleep=slept.append, rng=Draws())
    assert list(itertools.islice(tries, 200)) == list(range(200))
    assert slept[-1] == 5.0
    assert not RECONNECT_BACKOFF.is_last(10**6)


def test_no_wait_before_the_first_attempt_nor_after_no_failure() -> None:
    assert WRITE_RACE.delay(0, Draws()) == 0.0
    assert RECONNECT_BACKOFF.delay(0, Draws()) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": 3, "first_wait": -1.0},
        {"attempts": 3, "first_wait": 0.1, "growth": "linear"},
    ],
)
def test_a_policy_that_cannot_work_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="retry policy bad"):
        RetryPolicy("bad", **kwargs)  # type: ignore[arg-type]


def test_lost_connection_is_called_again_with_the_attempt_number() -> None:
    seen: list[int] = []

    def call(attempt: int) -> str:
        seen.append(attempt)
        if attempt == 0:
            raise InterfaceError("connection closed")
        return "answer"

    assert call_retrying_lost(call) == "answer"
    assert seen == [0, 1]


def test_lost_connection_gives_up_after_the_last_attempt() -> None:
    seen: list[int] = []

    def call(attempt: int) -> str:
        seen.append(attempt)
        raise InterfaceError(f"connection closed {attempt}")

    with pytest.raises(InterfaceError, match="connection closed 2"):
        call_retrying_lost(call)
    assert seen == [0, 1, 2]


def test_an_error_other_than_a_lost_connection_is_raised_at_once() -> None:
    seen: list[int] = []

    def call(attempt: int) -> str:
        seen.append(attempt)
        raise OperationalError("deadlock detected")  # no driver cause: not a lost connection

    with pytest.raises(OperationalError, match="deadlock"):
        call_retrying_lost(call)
    assert seen == [0]
