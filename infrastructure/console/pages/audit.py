"""The audit trail (``/ui/audit``) with the CLI's filters, paged like ``GET /v1/audit``,
and its CSV download (``/ui/audit.csv``), both scoped exactly as that endpoint."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from domain.parsing import MAX_INT64, MalformedInputError
from infrastructure.console.audit_data import (
    EVENT_TYPES,
    PAGE_SIZES,
    AuditFilters,
    audit_environments,
    audit_page,
    csv_lines,
)
from infrastructure.console.diffops import ops_rows
from infrastructure.console.queries import seen_environments
from infrastructure.console.render import base_path, page
from infrastructure.console.security import SignedIn
from infrastructure.http.services import services_of
from infrastructure.presenters import shown_ops

router = APIRouter()
Cursor = Annotated[int | None, Query(ge=1, le=MAX_INT64)]
#: The filters, each read from the query string (longer text is cut: it matches nothing).
FILTERS = ("area", "key", "actor", "source", "event", "since", "until")
MAX_FILTER_CHARS = 200


def _filters(request: Request, user: SignedIn) -> AuditFilters:
    """The filters of the query string; without ``env``, the first environment the user
    sees."""
    params = request.query_params
    env = params.get("env", "")[:MAX_FILTER_CHARS]
    if not env:
        seen = seen_environments(request, user.grant)
        env = seen[0] if seen else "default"
    found = {name: params.get(name, "")[:MAX_FILTER_CHARS] for name in FILTERS}
    return AuditFilters(env=env, **found)


@router.get("/audit", summary="Audit trail")
def audit(
    request: Request,
    user: SignedIn,
    before: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """Newest first; ``before`` is the cursor of an older page. A malformed time is
    shown beside the form (400); a filter outside the user's grant is refused (403)."""
    filters = _filters(request, user)
    store = services_of(request).store
    try:
        query = filters.query(user.grant, before=before, limit=limit)
    except MalformedInputError as exc:
        return _page(request, user, filters, limit, error=str(exc), status=400)
    found = audit_page(store, user.grant, query)
    rows = [(row, ops_rows(shown_ops(row.changes))) for row in found.rows]
    older = None
    if found.next_before is not None:
        older = _link(request, "/audit", filters, before=found.next_before, limit=limit)
    return _page(request, user, filters, limit, rows=rows, older=older, paged=before is not None)


def _link(request: Request, path: str, filters: AuditFilters, **extra: int) -> str:
    query = filters.params() | {name: str(value) for name, value in extra.items()}
    return f"{base_path(request)}{path}?{urlencode(query)}"


def _page(
    request: Request,
    user: SignedIn,
    filters: AuditFilters,
    limit: int,
    *,
    error: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    environments = audit_environments(user.grant, seen_environments(request, user.grant))
    return page(
        request,
        "audit.html",
        status_code=status,
        filters=filters,
        limit=limit,
        page_sizes=PAGE_SIZES,
        event_types=EVENT_TYPES,
        audit_environments=environments,
        error=error,
        csv_url=_link(request, "/audit.csv", filters),
        newest=_link(request, "/audit", filters, limit=limit),
        **({"rows": [], "older": None, "paged": False} | context),
    )


@router.get("/audit.csv", summary="Audit trail as CSV")
def audit_csv(request: Request, user: SignedIn, before: Cursor = None) -> Response:
    """Every matching row the user sees (newest first, at most 100,000), with a header
    row; cells that a spreadsheet would run as formulas start with a quote. Raises
    :class:`MalformedInputError` (400) for a bad time, :class:`PermissionDeniedError`."""
    filters = _filters(request, user)
    query = filters.query(user.grant, before=before, limit=1000)
    store = services_of(request).store
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    return StreamingResponse(
        csv_lines(store, user.grant, query), media_type="text/csv; charset=utf-8", headers=headers
    )
