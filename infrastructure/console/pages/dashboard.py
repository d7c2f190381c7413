"""The dashboard (``/ui/``): every environment the user sees, with its entries per area."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from infrastructure.console.queries import summary, visible_environments
from infrastructure.console.render import page
from infrastructure.console.security import SignedIn
from infrastructure.store import ConfigStore

router = APIRouter()


@router.get("/", summary="Dashboard")
def dashboard(request: Request, user: SignedIn) -> Response:
    """Per environment: live entries per area, and entries that cannot be served."""
    store: ConfigStore = request.app.state.store
    summaries = [summary(store, env, user.grant) for env in visible_environments(store, user.grant)]
    return page(request, "dashboard.html", summaries=summaries)
