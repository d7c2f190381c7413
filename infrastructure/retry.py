"""How often, and how long apart, the store tries again: one :class:`RetryPolicy` type
and every named policy, so that all of them can be read (and compared) in one place.

A loop with a fixed number of attempts reads ``for attempt in WRITE_RACE.tries():``;
a long-running loop that counts its failures waits ``RECONNECT_BACKOFF.delay(failures)``
itself (it waits on its stop event, not with ``time.sleep``).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

#: Draws a number between its two arguments (``random.uniform`` unless a test fixes it).
Rng = Callable[[float, float], float]
Growth = Literal["none", "linear", "exponential"]
Jitter = Literal["none", "full", "half"]
# 2.0 ** 1024 overflows; every capped wait reaches its cap long before this exponent.
_MAX_DOUBLINGS = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts (``None``: until the caller stops) and the wait before each.

    The wait after ``n`` failures in a row starts at ``first_wait`` (``n == 1``) and
    grows with ``n``: not at all, by ``first_wait`` each time (linear) or twice as long
    each time (exponential), up to ``max_wait``. Jitter then draws it from
    ``[0, wait]`` (full) or ``[wait/2, wait]`` (half), so that callers that failed
    together do not come back together. Raises :class:`ValueError` when built with
    fewer than one attempt, a negative wait, or growth without ``max_wait``.
    """

    name: str
    attempts: int | None
    first_wait: float = 0.0
    growth: Growth = "none"
    max_wait: float | None = None
    jitter: Jitter = "none"

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"retry policy {self.name}: attempts must be >= 1")
        if self.first_wait < 0:
            raise ValueError(f"retry policy {self.name}: first_wait must be >= 0")
        if self.growth != "none" and self.max_wait is None:
            raise ValueError(f"retry policy {self.name}: a growing wait needs a max_wait")

    @property
    def longest_wait(self) -> float:
        """The longest wait before jitter: ``max_wait``, else ``first_wait``."""
        return self.first_wait if self.max_wait is None else self.max_wait

    def delay(self, failures: int, rng: Rng = random.uniform) -> float:
        """Seconds to wait after ``failures`` failures in a row (0 after none)."""
        if failures < 1 or self.first_wait == 0:
            return 0.0
        wait = self.first_wait
        if self.growth == "linear":
            wait *= failures
        elif self.growth == "exponential":
            wait *= 2.0 ** min(failures - 1, _MAX_DOUBLINGS)
        if self.max_wait is not None:
            wait = min(wait, self.max_wait)
        if self.jitter == "full":
            return rng(0, wait)
        if self.jitter == "half":
            return wait * rng(0.5, 1)
        return wait

    def tries(
        self, sleep: Callable[[float], None] = time.sleep, rng: Rng = random.uniform
    ) -> Iterator[int]:
        """The attempt numbers 0, 1, ... (``attempts`` of them), sleeping
        :meth:`delay` before each but the first. A caller that succeeds leaves the
        loop; one that runs out of attempts raises its own error after it."""
        for attempt in range(self.attempts) if self.attempts is not None else itertools.count():
            if attempt:
                wait = self.delay(attempt, rng)
                if wait > 0:
                    sleep(wait)
            yield attempt

    def is_last(self, attempt: int) -> bool:
        """Whether no attempt follows ``attempt`` (a failure of it is final)."""
        return self.attempts is not None and attempt + 1 >= self.attempts


# A write without an expected version lost the race for its entry to another writer
# (or any write decided on a cached state it may not trust): many writers of one hot
# key all get through (60 tries, 2 ms more each try up to 20 ms, full jitter: at most
# about 1.1 s of waiting in all).
WRITE_RACE = RetryPolicy(
    "write race", attempts=60, first_wait=0.002, growth="linear", max_wait=0.02, jitter="full"
)
# A multi-entry command found its environment moved meanwhile: it plans again at once;
# an environment still changing after this many plans is reported as a conflict.
ENVIRONMENT_RACE = RetryPolicy("environment race", attempts=20)
# Races on one scheduled change end quickly (the winner marks it done); a change still
# contended after this many looks is left pending for the next run (or a cancel fails).
SCHEDULE_RACE = RetryPolicy("scheduled change race", attempts=5)
# A repair run's entry is new; only a key already taken (a repairs table emptied by
# hand restarts its ids, the log keeps the old runs) or a racing writer makes it retry.
REPAIR_RUN_KEY = RetryPolicy("repair run key", attempts=5)
# A database call whose connection was lost: a few quick tries (the pool hands out a
# fresh connection) instead of eventsourcing's ten, each waiting up to the pool timeout.
LOST_CONNECTION = RetryPolicy("lost connection", attempts=3, first_wait=0.2)
# Long-running loops that failed (log follower, HTTP change stream, leader election,
# leader duty threads) retry until stopped: 0.2 s doubling up to 5 s, half jitter, so
# many clients cut off together do not come back together.
RECONNECT_BACKOFF = RetryPolicy(
    "reconnect", attempts=None, first_wait=0.2, growth="exponential", max_wait=5.0, jitter="half"
)
# An HTTP write with ``If-Match: *`` whose current version another writer moved on
# between reading it and writing: any current version will do, so it reads again.
HTTP_ANY_VERSION = RetryPolicy("If-Match: *", attempts=5)
