"""docs/CONSOLE.md names exactly the members of a live-update event (the console's stream
sends the API's ``change_event``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from infrastructure.http.changes import change_event
from projections.audit import AuditRow

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONSOLE.md"


def _sent_members() -> set[str]:
    when = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    row = AuditRow(7, "prod", "router", "default", 2, "changed", "ci", "why", "http", "c", when, [])
    data = change_event(row).split(b"data: ", 1)[1]
    sent: dict[str, object] = orjson.loads(data)
    assert sent["recorded_at"] == "2026-01-31T12:00:00+00:00"
    assert "reason" not in sent and "changes" not in sent  # never values or reasons
    return set(sent)


def test_the_live_updates_section_lists_every_member_of_an_event() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Live updates", 1)[1]
    found = re.search(r"the data\s+`\{([^}]*)\}`", section)
    assert found, "the live-updates section lists no event members"
    members = {name.strip() for name in found.group(1).split(",")}
    assert members == _sent_members()
