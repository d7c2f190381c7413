"""The ``repair_run`` area (no database): its key is the run's repair id, its counts are
whole numbers and it lists no more positions than it counts."""

from __future__ import annotations

from typing import Any

import pytest

from domain.areas import builtin_registry
from domain.areas.repair_run import MAX_LISTED, RepairRun
from domain.errors import InvalidValueError
from domain.values import validate

COUNTS = (
    "index_rows_fixed",
    "entries_reestablished",
    "entries_removed",
    "entries_left_quarantined",
    "snapshots_dropped",
    "checkpoints_dropped",
    "checkpoints_written",
    "quarantine_released",
    "acknowledged_break_count",
)


def _run(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "repair_id": 12,
        "actor": "admin",
        "reason": None,
        "channel": "cli",
        "scope": "*",
        "head": 40,
        **dict.fromkeys(COUNTS, 0),
    }
    return {**value, **changes}


def test_a_run_keyed_by_its_repair_id() -> None:
    run = validate(RepairRun, _run(acknowledged_breaks=[3], acknowledged_break_count=1), key="12")
    assert isinstance(run, RepairRun)
    assert (run.repair_id, run.acknowledged_breaks, run.mirror_events) == (12, [3], None)
    validate(RepairRun, _run(), key="12-0123abcd")  # an id the log already had


@pytest.mark.parametrize("key", ["13", "012", "12-", "12-XYZ", "12-0123abcd0", "x12", "1-0123abcd"])
def test_any_other_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validate(RepairRun, _run(), key=key)
    assert [e.field for e in caught.value.errors] == ["key"]


@pytest.mark.parametrize("field", COUNTS)
def test_a_negative_count_is_refused(field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validate(RepairRun, _run(**{field: -1}), key="12")
    assert [e.field for e in caught.value.errors] == [field]


def test_more_positions_than_counted_or_allowed_are_refused() -> None:
    with pytest.raises(InvalidValueError):
        validate(RepairRun, _run(acknowledged_breaks=[1, 2], acknowledged_break_count=1), key="12")
    many = list(range(MAX_LISTED + 1))
    with pytest.raises(InvalidValueError):
        validate(RepairRun, _run(acknowledged_breaks=many, acknowledged_break_count=500), key="12")


def test_unknown_fields_and_user_registries_do_not_have_it() -> None:
    with pytest.raises(InvalidValueError):
        validate(RepairRun, _run(extra=1), key="12")
    assert "repair_run" not in builtin_registry()
