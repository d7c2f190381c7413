"""The compare page (``/ui/envs/{env}/compare``), three tabs: another environment
against this one (the promote preview), this environment at two points (time, position
or snapshot), two versions of an entry; each allowed as the HTTP API allows the same read
(see :mod:`infrastructure.console.compare_data`): comparing whole environments needs the
reader role on every area of both. Writers of this environment can then apply the plan
shown (:mod:`infrastructure.console.promote_data`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from domain.access import Role
from domain.address import Address, check_name
from domain.errors import ConfigStoreError, PermissionDeniedError
from infrastructure.console.compare_data import (
    MODES,
    EnvComparison,
    compares_environments,
    entry_versions,
    flag_param,
    mode_param,
    points_diff,
    promote_preview,
)
from infrastructure.console.diffops import env_rows
from infrastructure.console.pages.history import SOURCE, entry_url
from infrastructure.console.promote_data import apply_promote, may_promote
from infrastructure.console.queries import seen_environments
from infrastructure.console.render import page
from infrastructure.console.security import ConsoleUser, Form, SignedIn
from infrastructure.console.snapshots_data import position_of, reason_of
from infrastructure.errors import AuthenticationError
from infrastructure.http.common import store_of
from infrastructure.http.problems import store_problem
from infrastructure.http.security import provenance
from infrastructure.http.services import services_of
from infrastructure.persistence.recorder import EnvironmentMovedError

router = APIRouter()

TAB_LABELS = {
    "envs": "Environment vs environment",
    "points": "Two points in time",
    "versions": "Two versions of an entry",
}
_FIELDS = ("source", "prune", "from", "to", "area", "key", "v1", "v2")


def _frame(
    request: Request, user: ConsoleUser, env: str, mode: str, fields: Mapping[str, str]
) -> dict[str, Any]:
    """What every answer of the page shows: the tabs, the form's fields as given, the
    environments offered as a source (those the user reads in full)."""
    others = [
        other
        for other in seen_environments(request, user.grant)
        if other != env and compares_environments(user.grant, other)
    ]
    return {
        "mode": mode,
        "tabs": [(name, TAB_LABELS[name]) for name in MODES],
        "query": {name: fields.get(name, "") for name in _FIELDS},
        "others": others,
        "whole": compares_environments(user.grant, env),
        "reason": "",
    }


@router.get("/envs/{env}/compare", summary="Compare")
def compare(request: Request, env: str, user: SignedIn) -> Response:
    """The chosen tab's form and, once filled in, its comparison. A store error (no such
    snapshot, the same environment twice, a bad version) is shown above the form with
    its status; 403 without read access to ``env``."""
    check_name("environment", env)
    user.grant.require(Role.READER, env, any_area=True)
    query = request.query_params
    mode = mode_param(query.get("mode"))
    context = _frame(request, user, env, mode, query)
    try:
        context |= _compared(request, user, env, mode, query)
    except (AuthenticationError, PermissionDeniedError):
        raise
    except ConfigStoreError as exc:
        status = store_problem(exc).status_code
        return page(request, "compare.html", status_code=status, error=str(exc), **context)
    return page(request, "compare.html", **context)


@router.post("/envs/{env}/compare/promote", summary="Promote another environment into this")
def promote(request: Request, env: str, user: SignedIn, form: Form) -> Response:
    """Apply the promote plan the page showed (fields ``source``, ``prune``,
    ``expected_position``, ``plan``, ``reason``) through the store's promote, checked as
    ``POST /v1/envs/{env}/promote`` (403 without the writer role on every area of
    ``env`` and the reader role on every area of the source, whatever the page showed).
    If the plan changed, or ``env`` changed after the shown plan's position: 409 with
    the plan now, nothing written."""
    check_name("environment", env)
    source = form.get("source") or ""
    prune = flag_param(form.get("prune"), name="prune")
    expected = position_of(form.get("expected_position"), "expected position")
    why = form.get("reason") or ""
    who = provenance(user.grant, request, reason_of(why), source=SOURCE)
    fields = {"mode": "envs", "source": source, "prune": "on" if prune else ""}
    context = _frame(request, user, env, "envs", fields) | {"source": source, "prune": prune}
    store = store_of(request)
    try:
        result = apply_promote(
            store,
            user.grant,
            source=source,
            target=env,
            prune=prune,
            expected=expected,
            digest=form.get("plan") or "",
            who=who,
        )
    except EnvironmentMovedError:
        fresh = promote_preview(store, user.grant, source=source, target=env, prune=prune, who=who)
        context |= {"envs": fresh, "moved": True, "reason": why, "can_promote": True}
        return page(request, "compare.html", status_code=409, **context)
    for change in result.changes:  # read-your-writes on this server, as the API's promote
        services_of(request).readcache.drop(Address(env, change.area, change.key))
    applied = EnvComparison(env_rows(result.changes), list(result.skipped), result.position)
    return page(request, "compare.html", **context, envs=applied, promoted=result)


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
        allowed = may_promote(user.grant, source=source, target=env)
        return {"envs": found, "source": source, "prune": prune, "can_promote": allowed}
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
