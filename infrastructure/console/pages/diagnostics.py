"""Diagnostics (``/ui/diagnostics``): projections (position, head, lag, judged as
``/readyz`` judges them) and the mirror for every signed-in user; for unscoped admins
also the cluster (``GET /v1/cluster``) and, on request, its consistency check
(``GET /v1/cluster/check``, the same code), the settings in effect with secrets masked,
and the recent warnings and errors of this process."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from domain.access import Role
from infrastructure.cluster.status import check_consistency
from infrastructure.console.dashboard_data import (
    cluster_view,
    lag_indicator,
    lag_level,
    mirror_view,
    readiness,
)
from infrastructure.console.diagnostics_data import settings_rows
from infrastructure.console.render import page
from infrastructure.console.security import SignedIn
from infrastructure.http.services import services_of

router = APIRouter()
#: Seconds ``cluster check`` waits for every instance to reach the head.
CHECK_WAIT_SECONDS = 2.0


@router.get("/diagnostics", summary="Diagnostics")
def diagnostics(
    request: Request, user: SignedIn, check: Annotated[bool, Query()] = False
) -> Response:
    """The page; ``check=true`` (admins) also runs ``cluster check``."""
    services = services_of(request)
    store = services.store
    ready = readiness(request.app)
    admin = user.grant.allows(Role.ADMIN)
    context: dict[str, Any] = {
        "is_admin": admin,
        "readiness": ready,
        "lag": lag_indicator(ready),
        "projections": [(s, lag_level(s.lag, ready.limit)) for s in store.projection_status()],
        "mirror": mirror_view(request.app, ready.limit),
        "cluster": None,
        "check": None,
        "settings": None,
        "errors": None,
    }
    if admin:
        context["cluster"] = cluster_view(request.app, ready.limit, admin=True)
        if check:
            context["check"] = check_consistency(
                store,
                services.registry,
                instance_timeout=services.options.instance_timeout_seconds,
                wait_seconds=CHECK_WAIT_SECONDS,
            )
        settings, ring = services.settings, services.recent_errors
        context["settings"] = settings_rows(settings) if settings is not None else []
        context["errors"] = ring.lines() if ring is not None else []
    return page(request, "diagnostics.html", **context)
