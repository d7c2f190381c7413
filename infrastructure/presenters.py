"""The JSON shapes of results, shared by the CLI's ``--json`` and the HTTP API, so a
script can move between them without reshaping anything. Datetimes become ISO strings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from domain.areas.base import AreaModel
from domain.secret_views import Schema, redact
from domain.stored import MAX_SERVED_DEPTH, EntryProblem, deeper_than
from infrastructure.projection.checkpoints import CheckpointInfo
from infrastructure.store.bulk import BulkResult
from infrastructure.store.views import EntryView, HistoryItem, ScheduledView, WriteResult
from projections.audit import AuditRow


def json_ready(value: Any) -> Any:
    """Datetimes as ISO strings, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def area_json(model: type[AreaModel]) -> dict[str, Any]:
    """A registered area: name, singleton, schema version, summary, fields."""
    return {
        "area": model.area_name,
        "singleton": model.singleton,
        "schema_version": model.schema_version,
        "summary": model.summary,
        "fields": list(model.model_fields),
    }


def write_json(result: WriteResult) -> dict[str, Any]:
    """Every write: where, which version, which log position."""
    return {
        "environment": result.address.environment,
        "area": result.address.area,
        "key": result.address.key,
        "version": result.version,
        "position": result.position,
        "changed": result.changed,
    }


def entry_json(view: EntryView, value: Any) -> dict[str, Any]:
    """An entry at one version; ``value`` is the (redacted or revealed) value to show."""
    data: dict[str, Any] = json_ready(
        {
            "environment": view.address.environment,
            "area": view.address.area,
            "key": view.address.key,
            "version": view.version,
            "value": value,
            "recorded_at": view.recorded_at,
            "position": view.position,
            "actor": view.actor,
        }
    )
    return data


def shown_ops(ops: Any) -> Any:
    """RFC 6902 operations as reads show them: an operation whose value cannot be shown
    (nested deeper than reads serve, or not encodable as JSON) keeps its ``op`` and
    ``path``, its ``value`` replaced by ``"omitted": why``."""
    if not isinstance(ops, list):
        return ops
    return [_shown_op(op) for op in ops]


def _shown_op(op: Any) -> Any:
    if not isinstance(op, dict) or "value" not in op:
        return op
    if deeper_than(op["value"], MAX_SERVED_DEPTH):
        reason = f"nests more than {MAX_SERVED_DEPTH} levels deep"
    else:
        try:
            orjson.dumps(op["value"])
        except orjson.JSONEncodeError as exc:
            reason = f"cannot be encoded as JSON ({exc})"
        else:
            return op
    return {**{k: v for k, v in op.items() if k != "value"}, "omitted": reason}


def history_json(item: HistoryItem, changes: Any) -> dict[str, Any]:
    """One version of an entry's history; ``changes`` already redacted."""
    data: dict[str, Any] = {
        "version": item.version,
        "event": item.event,
        "actor": item.actor,
        "reason": item.reason,
        "source": item.source,
        "recorded_at": item.recorded_at,
        "position": item.position,
        "changes": shown_ops(changes),
        "correlation_id": item.correlation_id,
        "value_hash": item.value_hash,
    }
    if item.target_version is not None:
        data["target_version"] = item.target_version
    return dict(json_ready(data))


def audit_json(row: AuditRow) -> dict[str, Any]:
    """One audit row (its changes are redacted by the projection)."""
    return dict(json_ready({**vars(row), "changes": shown_ops(row.changes)}))


def problems_json(problems: Iterable[EntryProblem]) -> list[dict[str, str]]:
    """Entries a read left out: ``[{entry, area, key, reason}]`` (never their values)."""
    return [p.to_json() for p in problems]


def snapshot_json(info: CheckpointInfo) -> dict[str, Any]:
    """A named snapshot or automatic checkpoint, without its entries (``problems``: the
    entries that reads of it leave out, when checked and there are some)."""
    data: dict[str, Any] = json_ready({k: v for k, v in vars(info).items() if k != "problems"})
    if info.problems:
        data["problems"] = problems_json(info.problems)
    return data


def bulk_json(result: BulkResult) -> dict[str, Any]:
    """Plan, apply, restore and promote."""
    return {
        "environment": result.environment,
        "base_position": result.base_position,
        "position": result.position,
        "applied": result.applied,
        "changes": [c.to_json() for c in result.changes],
        "unchanged": sum(1 for s in result.steps if s.action == "unchanged"),
        **({"skipped": problems_json(result.skipped)} if result.skipped else {}),
    }


def scheduled_json(view: ScheduledView, schema: Schema) -> dict[str, Any]:
    """A scheduled change, its value's secrets redacted (they stay sealed in the log);
    ``schema`` is the target area's (``ConfigStore.secret_schema``)."""
    change = view.change
    data: dict[str, Any] = {
        "id": view.id,
        "environment": change.environment,
        "area": change.area,
        "key": change.key,
        "operation": change.operation,
        "value": redact(change.value, schema),
        "due_at": change.due_at,
        "expected_version": change.expected_version,
        "status": change.status,
        "result": change.result,
        "applied_version": change.applied_version,
        "applied_position": view.applied_position,
        "requested_by": change.requested_by,
        "reason": change.reason,
        "version": view.version,
        "updated_at": view.updated_at,
    }
    return dict(json_ready(data))
