"""Hypothesis budgets of the fuzzing tier.

The default run (what CI runs) uses the ``fuzz-ci`` profile: derandomized, so a CI run is
reproducible and never flaky, with a small explicit number of examples per test. Setting
``CONDUIT_CONFIG_FUZZ_LONG=1`` switches every fuzz test to the ``fuzz-long`` profile
(random, many more examples, times ``CONDUIT_CONFIG_FUZZ_SCALE``) and enables the tests
marked ``fuzz_long``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Verbosity, settings

LONG = os.environ.get("CONDUIT_CONFIG_FUZZ_LONG", "").strip() not in ("", "0")
#: Multiplies every long budget (e.g. 0.1 for a quicker long run, 10 for a night).
SCALE = float(os.environ.get("CONDUIT_CONFIG_FUZZ_SCALE", "1") or 1)
LONG_REASON = "long fuzzing budget: run with CONDUIT_CONFIG_FUZZ_LONG=1"

_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "verbosity": Verbosity.normal,
    "suppress_health_check": list(HealthCheck),
}
settings.register_profile("fuzz-ci", derandomize=True, max_examples=20, **_COMMON)
settings.register_profile("fuzz-long", derandomize=False, max_examples=500, **_COMMON)

F = TypeVar("F", bound=Callable[..., Any])
#: Marks of a parameter set that only runs with the long budget.
LONG_MARKS = (pytest.mark.fuzz_long, pytest.mark.skipif(not LONG, reason=LONG_REASON))


def scaled(long: int) -> int:
    """A long budget times ``CONDUIT_CONFIG_FUZZ_SCALE`` (at least 1)."""
    return max(1, round(long * SCALE))


def budget(ci: int, long: int) -> settings:
    """Settings of one fuzz test: ``ci`` examples by default, ``long`` in the long run."""
    profile = settings.get_profile("fuzz-long" if LONG else "fuzz-ci")
    return settings(profile, max_examples=scaled(long) if LONG else ci)


def fuzz(func: F) -> F:
    """Mark a test as part of the fuzzing tier (``pytest -m fuzz`` selects the tier)."""
    marked: F = pytest.mark.fuzz(func)
    return marked


def long_only(func: F) -> F:
    """A test that only runs with the long budget (skipped, with the reason, otherwise)."""
    marked: F = pytest.mark.fuzz(
        pytest.mark.fuzz_long(pytest.mark.skipif(not LONG, reason=LONG_REASON)(func))
    )
    return marked
