"""The ``repair_run`` area: one run of ``repair``, recorded in the log.

Runs live in the reserved system environment, keyed by their repair id, so every repair
(also one that only rebuilt what is derived from the log) is an event of the same log
(and audit trail) as configuration changes, not only a row of the repairs table.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from domain.areas.base import AreaModel

#: Most chain-break positions a run's value lists; the count says how many there were.
MAX_LISTED = 100
#: The repair id, and a suffix when an entry of that id already exists (a repairs table
#: emptied by hand restarts nothing in the log).
REPAIR_RUN_KEY = re.compile(r"^[1-9][0-9]{0,18}(-[0-9a-f]{8})?$")

Count = Annotated[int, Field(ge=0, description="How many.")]


class RepairRun(AreaModel):
    """Who repaired, why, which scope, and how much each step of the run did.

    Raises pydantic's ``ValidationError`` (turned into :class:`InvalidValueError` by the
    store) for a negative count or more positions listed than counted.
    """

    area_name: ClassVar[str] = "repair_run"
    summary: ClassVar[str] = "One run of repair: who, why, its scope and what it did"

    repair_id: int = Field(ge=1, description="Its id in the repairs table (repair --list).")
    actor: str = Field(min_length=1, max_length=200, description="Who repaired.")
    reason: str | None = Field(default=None, max_length=2000, description="Why, as given.")
    channel: str = Field(min_length=1, max_length=50, description="cli or api.")
    scope: str = Field(
        min_length=1, max_length=100, description="Environment re-established; * for all."
    )
    head: int = Field(ge=0, description="The log's last position before this event.")
    index_rows_fixed: Count
    entries_reestablished: Count
    entries_removed: Count
    entries_left_quarantined: Count
    snapshots_dropped: Count
    checkpoints_dropped: Count
    checkpoints_written: Count
    quarantine_released: Count
    mirror_events: int | None = Field(default=None, ge=0, description="None: no mirror.")
    acknowledged_breaks: list[int] = Field(
        default_factory=list,
        max_length=MAX_LISTED,
        description=f"Chain-break positions acknowledged (the first {MAX_LISTED}).",
    )
    acknowledged_break_count: Count

    @model_validator(mode="after")
    def _listed_within_count(self) -> RepairRun:
        if len(self.acknowledged_breaks) > self.acknowledged_break_count:
            raise ValueError("acknowledged_break_count: fewer than the positions listed")
        return self

    @classmethod
    def validate_key(cls, key: str, value: RepairRun) -> None:
        """Store hook: the key is the run's repair id (optionally ``-`` and 8 hex digits).

        Raises ``ValueError`` otherwise."""
        if not REPAIR_RUN_KEY.fullmatch(key) or key.partition("-")[0] != str(value.repair_id):
            raise ValueError(f"a repair run's key is its repair id {value.repair_id}, not {key!r}")
