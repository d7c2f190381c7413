"""The dashboard (``/ui/``): the system's status (readiness and projection lag, log head,
instances and leader, mirror, scheduled changes due, last ``verify``) and every
environment the user sees with its entries per area and its last changes. Both parts
refresh live (``/ui/dashboard/status``, ``/ui/dashboard/environments``); an admin may
run ``verify`` from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from domain.access import Grant, Role
from infrastructure.console.dashboard_data import (
    entry_counts,
    quarantined_counts,
    system_status,
)
from infrastructure.console.queries import seen_environments
from infrastructure.console.render import base_path, fragment, page
from infrastructure.console.security import SignedIn
from infrastructure.http.services import services_of
from infrastructure.store.chain import store_audit_key
from infrastructure.store.readmodels import AuditQuery
from infrastructure.store.verify_runs import note_verify_run
from projections.audit import AuditRow

router = APIRouter()
LAST_CHANGES = 5


@dataclass(frozen=True)
class EnvironmentCard:
    """One environment: live entries per area (counted, not read), entries refused by
    reads, and its last changes as ``GET /v1/audit`` lists them."""

    name: str
    counts: dict[str, int]
    problems: int
    last_changes: list[AuditRow]

    @property
    def total(self) -> int:
        """Live entries in all the areas shown."""
        return sum(self.counts.values())


def environment_cards(request: Request, grant: Grant) -> list[EnvironmentCard]:
    """A card per environment the user sees. Raises :class:`StorageError`."""
    store = services_of(request).store
    counts, refused = entry_counts(store, grant), quarantined_counts(store, grant)
    cards = []
    for env in seen_environments(request, grant):
        query = AuditQuery(env, limit=LAST_CHANGES, areas=grant.visible_areas(env))
        rows = [r for r in store.audit(query) if grant.sees(env, r.area)]
        cards.append(EnvironmentCard(env, counts.get(env, {}), refused.get(env, 0), rows))
    return cards


def _context(request: Request, user: SignedIn) -> dict[str, Any]:
    return {
        "status": system_status(request.app, user.grant),
        "summaries": environment_cards(request, user.grant),
        "is_admin": user.grant.allows(Role.ADMIN),
    }


@router.get("/", summary="Dashboard")
def dashboard(request: Request, user: SignedIn) -> Response:
    """The whole page."""
    return page(request, "dashboard.html", **_context(request, user))


@router.get("/dashboard/status", summary="Dashboard: status section")
def dashboard_status(request: Request, user: SignedIn) -> Response:
    """The status section alone (an htmx refresh)."""
    status = system_status(request.app, user.grant)
    is_admin = user.grant.allows(Role.ADMIN)
    return fragment(request, "partials/dashboard_status.html", status=status, is_admin=is_admin)


@router.get("/dashboard/environments", summary="Dashboard: environments section")
def dashboard_environments(request: Request, user: SignedIn) -> Response:
    """The environments' cards alone (an htmx refresh)."""
    cards = environment_cards(request, user.grant)
    return fragment(request, "partials/dashboard_envs.html", summaries=cards)


@router.post("/dashboard/verify", summary="Run verify (admin)")
async def run_verify(request: Request, user: SignedIn) -> Response:
    """``verify`` of every environment, as ``POST /v1/verify`` runs it (quarantining
    broken entries), recorded as run from the console; back to the dashboard, whose
    status section shows the result. Raises :class:`PermissionDeniedError` (403) for
    anyone but an unscoped admin."""
    user.grant.require(Role.ADMIN)
    store = services_of(request).store

    def run() -> None:
        report = store.verify(None, audit_key=store_audit_key(store))
        note_verify_run(store, report, actor=user.name, source="console", environment=None)

    await run_in_threadpool(run)
    return RedirectResponse(f"{base_path(request)}/#status", status_code=303)
