"""The compare page (``/ui/envs/{env}/compare``), three tabs: another environment
against this one (the promote preview), this environment at two points (time, position
or snapshot), two versions of an entry. Reads only, each allowed as the HTTP API allows
the same read (see :mod:`infrastructure.console.compare_data`): comparing whole
environments needs the reader role on every area of both."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from domain.access import Role
from domain.address import Address, check_name
from domain.errors import AuthenticationError, ConfigStoreError, PermissionDeniedError
from infrastructure.console.compare_data import (
    MODES,
    compares_environments,
    entry_versions,
    flag_param,
    mode_param,
    points_diff,
    promote_preview,
)
from infrastructure.console.pages.history import SOURCE, entry_url
from infrastructure.console.queries import visible_environments
from infrastructure.console.render import page
from infrastructure.console.security import ConsoleUser, SignedIn
from infrastructure.http.common import store_of
from infrastructure.http.problems import store_problem
from infrastructure.http.security import provenance

router = APIRouter()

TAB_LABELS = {
    "envs": "Environment vs environment",
    "points": "Two points in time",
    "versions": "Two versions of an entry",
}
_FIELDS = ("source", "prune", "from", "to", "area", "key", "v1", "v2")


@router.get("/envs/{env}/compare", summary="Compare")
def compare(request: Request, env: str, user: SignedIn) -> Response:
    """The chosen tab's form and, once filled in, its comparison. A store error (no such
    snapshot, the same environment twice, a bad version) is shown above the form with
    its status; 403 without read access to ``env``."""
    check_name("environment", env)
    user.grant.require(Role.READER, env, any_area=True)
    query = request.query_params
    mode = mode_param(query.get("mode"))
    store = store_of(request)
    others = [
        other
        for other in visible_environments(store, user.grant)
        if other != env and compares_environments(user.grant, other)
    ]
    context: dict[str, Any] = {
        "mode": mode,
        "tabs": [(name, TAB_LABELS[name]) for name in MODES],
        "query": {name: query.get(name, "") for name in _FIELDS},
        "others": others,
        "whole": compares_environments(user.grant, env),
    }
    try:
        context |= _compared(request, user, env, mode, query)
    except (AuthenticationError, PermissionDeniedError):
        raise
    except ConfigStoreError as exc:
        status = store_problem(exc).status_code
        return page(request, "compare.html", status_code=status, error=str(exc), **context)
    return page(request, "compare.html", **context)


def _compared(
    request: Request, user: ConsoleUser, env: str, mode: str, query: QueryParams
) -> dict[str, Any]:
    """The comparison of ``mode`` when its fields are given (else nothing)."""
    store = store_of(request)
    if mode == "envs" and query.get("source"):
        who = provenance(user.grant, request, source=SOURCE)
        prune = flag_param(query.get("prune"), name="prune")
        source = str(query["source"])
        found = promote_preview(store, user.grant, source=source, target=env, prune=prune, who=who)
        return {"envs": found, "source": source}
    if mode == "points" and query.get("from"):
        found = points_diff(store, user.grant, env, str(query["from"]), query.get("to") or "now")
        return {"points": found}
    if mode == "versions" and (query.get("area") or query.get("key")):
        address = Address(env, query.get("area", ""), query.get("key", ""))
        diff = entry_versions(store, user.grant, address, query.get("v1"), query.get("v2"))
        return {
            "versions": diff,
            "address": address,
            "history_url": entry_url(request, address, "/history"),
        }
    return {}
