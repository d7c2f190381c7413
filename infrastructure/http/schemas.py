"""Response shapes of the HTTP API, for the OpenAPI document (the handlers build the
same JSON through ``infrastructure.presenters``; the schemathesis test holds them to it).
Results that are dataclasses of the store (history items, audit rows, snapshots,
tokens, entry states) describe themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.environment import EntryState
from infrastructure.auth import TokenInfo
from infrastructure.projection.checkpoints import CheckpointInfo
from infrastructure.store.views import HistoryItem
from projections.audit import AuditRow

JsonObject = dict[str, Any]


class Problem(BaseModel):
    """RFC 7807 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(
        default=None, description="422: every bad field with its message."
    )
    current_version: int | None = None
    lag: dict[str, int] | None = None
    entry: str | None = Field(
        default=None, description="invalid-stored-value: the entry (`area/key`)."
    )
    reason: str | None = Field(
        default=None, description="invalid-stored-value: why its stored value is refused."
    )


class LeftOutOut(BaseModel):
    """An entry a read left out: its stored value is not valid under the current rules
    or cannot be decoded (the value itself is never shown)."""

    entry: str
    area: str
    key: str
    reason: str


LEFT_OUT = "Entries left out because their stored value cannot be served (only when any)."


def left_out() -> Any:
    """The optional ``problems`` member of whole-environment reads."""
    return Field(default=None, description=LEFT_OUT)


class WriteOut(BaseModel):
    """A write: the entry's new version and the log position of its last event."""

    environment: str
    area: str
    key: str
    version: int
    position: int
    changed: bool


class EntryOut(BaseModel):
    """An entry at one version."""

    environment: str
    area: str
    key: str
    version: int
    value: JsonObject
    recorded_at: datetime | None
    position: int | None
    actor: str


class EntryListOut(BaseModel):
    """Current entries of an environment."""

    environment: str
    items: list[EntryOut]
    problems: list[LeftOutOut] | None = left_out()


class HistoryOut(BaseModel):
    """An entry's history, oldest first."""

    items: list[HistoryItem]


class DiffOut(BaseModel):
    """RFC 6902 operations."""

    operations: list[JsonObject]


class AuditOut(BaseModel):
    """A page of the audit trail, newest first."""

    items: list[AuditRow]
    next_before: int | None


class DocumentOut(BaseModel):
    """An environment's entries at a point."""

    environment: str | None
    position: int | None
    recorded_at: datetime | None
    entries: dict[str, dict[str, JsonObject]]
    problems: list[LeftOutOut] | None = left_out()


class StateOut(BaseModel):
    """An environment's entries at a log position."""

    environment: str
    position: int
    entries: list[EntryState]
    problems: list[LeftOutOut] | None = left_out()


class ChangeOut(BaseModel):
    """One entry's change in a plan, apply, restore or environment diff."""

    area: str
    key: str
    action: str
    version: int
    changes: list[JsonObject]
    target_version: int | None = None


class ChangesOut(BaseModel):
    """Changes between two points of an environment."""

    changes: list[ChangeOut]
    problems: list[LeftOutOut] | None = left_out()


class BulkOut(BaseModel):
    """The result of plan, apply, restore or promote."""

    environment: str
    base_position: int
    position: int
    applied: bool
    changes: list[ChangeOut]
    unchanged: int
    skipped: list[LeftOutOut] | None = Field(
        default=None, description="Entries not copied (their stored value cannot be served)."
    )


class SnapshotListOut(BaseModel):
    """Snapshots, newest first."""

    items: list[CheckpointInfo]


@dataclass(frozen=True)
class SnapshotEntriesOut(CheckpointInfo):
    """A snapshot with its entries (secrets redacted)."""

    entries: dict[str, dict[str, JsonObject]] = field(default_factory=dict)


class AreaOut(BaseModel):
    """A registered area."""

    area: str
    singleton: bool
    schema_version: int
    summary: str
    fields: list[str]


class AreaListOut(BaseModel):
    """Registered areas."""

    items: list[AreaOut]


class TokenListOut(BaseModel):
    """Live tokens."""

    items: list[TokenInfo]


class IssuedTokenOut(BaseModel):
    """A token just created; the value is not shown again."""

    name: str
    role: str
    token: str


class HealthOut(BaseModel):
    """The process answers."""

    status: str


class ReadyOut(BaseModel):
    """Ready: the database answers and projections are current."""

    status: str
    head: int
    lag: dict[str, int] = Field(
        description="Events behind the log head per projection, and `instance`: this "
        "server's read cache."
    )
    role: str | None = Field(description="`leader` or `follower` in the cluster.")


READ_ERRORS = (400, 401, 403, 404, 422, 503)
WRITE_ERRORS = (*READ_ERRORS, 409, 412, 413, 415, 428)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json answers (the schema inline, because
    FastAPI files a response ``model`` under application/json)."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": "Problem details (RFC 7807)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
