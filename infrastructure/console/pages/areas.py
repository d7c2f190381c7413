"""Area pages: ``/ui/envs/{env}/areas`` (every area of the registry, user-registered
ones included, with its entry counts) and ``/ui/envs/{env}/areas/{area}`` (the area's
entries with version, last change and state, filtered by key text, a page at a time).

Scoped as ``GET /v1/envs/{env}/entries``: only the areas the token may read are listed
or reachable (403 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from domain.access import Role
from domain.address import check_name
from infrastructure.console.areas_data import AreaCount, area_counts, area_page, page_problems
from infrastructure.console.render import fragment, page
from infrastructure.console.security import ConsoleUser, SignedIn
from infrastructure.http.common import store_of
from infrastructure.store import ConfigStore

router = APIRouter()

#: The key filter of an area page (text the key contains).
KeyFilter = Annotated[str, Query(max_length=100, description="Text the keys contain.")]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


@dataclass(frozen=True)
class AreaRow:
    """One line of the area list."""

    name: str
    summary: str
    singleton: bool
    registered: bool
    count: AreaCount
    scheduled: int


def _pending_by_area(store: ConfigStore, env: str) -> dict[str, set[str]]:
    """Keys with a pending scheduled change, per area."""
    found: dict[str, set[str]] = {}
    for view in store.scheduled_changes(env):
        found.setdefault(view.change.area, set()).add(view.change.key)
    return found


def _area_rows(store: ConfigStore, env: str, user: ConsoleUser) -> list[AreaRow]:
    """The registry's areas the user sees, then areas with entries but no longer
    registered (listed, not linked)."""
    counts = area_counts(store, env)
    pending = _pending_by_area(store, env)
    rows = [
        AreaRow(
            model.area_name,
            model.summary,
            model.singleton,
            True,
            counts.get(model.area_name, AreaCount()),
            len(pending.get(model.area_name, ())),
        )
        for model in sorted(store.registry, key=lambda m: m.area_name)
    ]
    known = {row.name for row in rows}
    rows += [
        AreaRow(name, "", False, False, count, len(pending.get(name, ())))
        for name, count in sorted(counts.items())
        if name not in known
    ]
    return [row for row in rows if user.grant.sees(env, row.name)]


@router.get("/envs/{env}/areas", summary="Areas of an environment")
def areas(request: Request, env: str, user: SignedIn) -> Response:
    """Every area the user may read in ``env``, with live and deleted entry counts and
    pending scheduled changes. 400 for a bad environment name, 403 outside the scopes."""
    check_name("environment", env)
    user.grant.require(Role.READER, env, any_area=True)
    rows = _area_rows(store_of(request), env, user)
    return page(request, "areas.html", env=env, rows=rows)


@router.get("/envs/{env}/areas/{area}", summary="Entries of an area")
def area_entries(
    request: Request,
    *,
    env: str,
    area: str,
    user: SignedIn,
    q: KeyFilter = "",
    page_number: Annotated[PageNumber, Query(alias="page")] = 1,
) -> Response:
    """The area's entries (deleted ones too) whose key contains ``q``, by key, a page at
    a time: version, last change (who, when, why) and state (deleted, scheduled change
    pending, not served and why). An htmx request (the live refresh) gets only the list.
    404 for an unknown area, 403 outside the scopes."""
    check_name("environment", env)
    user.grant.require(Role.READER, env, area)
    store = store_of(request)
    model = store.area_model(env, area)
    found = area_page(store, env, area, contains=q, page=page_number)
    problems = {p.key: p for p in page_problems(store, env, area, found.entries)}
    context: dict[str, Any] = {
        "env": env,
        "area": area,
        "model": model,
        "found": found,
        "q": q,
        "problems": problems,
        "pending": _pending_by_area(store, env).get(area, set()),
        "writer": user.can(Role.WRITER, env, area),
    }
    if request.headers.get("HX-Request"):
        return fragment(request, "partials/area_entries.html", **context)
    return page(request, "area.html", **context)
