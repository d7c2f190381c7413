"""HTML of the console: one Jinja2 environment over ``templates/`` with autoescaping on,
and :func:`page`, which every page handler returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse

from domain.address import DEFAULT_ENVIRONMENT
from infrastructure.console.queries import visible_environments
from infrastructure.console.security import ConsoleUser
from infrastructure.store import ConfigStore

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Every template is HTML: escape every value, whatever the file's name.
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def utc_text(moment: datetime | None) -> str:
    """``2026-01-31 12:00:00 UTC`` (templates: ``{{ when | utc }}``); empty for ``None``."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


ENVIRONMENT.filters["utc"] = utc_text


@dataclass(frozen=True)
class NavLink:
    """One link of the header's navigation."""

    label: str
    href: str
    active: bool


def base_path(request: Request) -> str:
    """Where the console is mounted (``/ui``, behind any proxy prefix): prefix every link
    with it (templates get it as ``base``)."""
    root: str = request.scope.get("root_path", "")
    return root


def current_environment(request: Request, environments: list[str]) -> str:
    """The environment the page is about (its ``{env}``), else the first the user sees."""
    env = request.path_params.get("env")
    if isinstance(env, str):
        return env
    return environments[0] if environments else DEFAULT_ENVIRONMENT


def nav(request: Request, environment: str) -> list[NavLink]:
    """Links to every page group; pages that are about an environment use ``environment``."""
    base, path = base_path(request), request.url.path
    env = f"{base}/envs/{quote(environment, safe='')}"
    links = [
        ("Dashboard", f"{base}/"),
        ("Areas", f"{env}/areas"),
        ("Compare", f"{env}/compare"),
        ("Snapshots", f"{env}/snapshots"),
        ("Scheduled", f"{env}/scheduled"),
        ("Audit", f"{base}/audit"),
        ("Diagnostics", f"{base}/diagnostics"),
    ]
    return [
        NavLink(label, href, path == href or (href != f"{base}/" and path.startswith(href)))
        for label, href in links
    ]


def page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``templates/<template>`` (a full page extending ``base.html``) as the answer
    to ``request``.

    Besides ``context``, every template gets ``request``, ``base`` (the console's path
    prefix: start every link with ``{{ base }}``), ``user`` (the signed-in
    :class:`ConsoleUser`, ``None`` on the sign-in page), ``csrf`` (for forms:
    ``<input type="hidden" name="csrf" value="{{ csrf }}">``) and, when signed in,
    ``environments`` (those the user sees), ``environment`` (the page's ``{env}``, else
    the first one) and ``nav``. Raises :class:`StorageError` when the environments cannot
    be read.
    """
    return _render(request, template, status_code, headers, context, frame=True)


def fragment(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Like :func:`page` for a part of a page (an htmx swap, an error page): the same
    values but ``environments``, ``environment`` and ``nav``, so nothing is read."""
    return _render(request, template, status_code, headers, context, frame=False)


def _render(
    request: Request,
    template: str,
    status_code: int,
    headers: dict[str, str] | None,
    context: dict[str, Any],
    *,
    frame: bool,
) -> HTMLResponse:
    user: ConsoleUser | None = getattr(request.state, "console_user", None)
    values: dict[str, Any] = {"request": request, "base": base_path(request), "user": user}
    values["csrf"] = user.csrf if user is not None else ""
    if user is not None and frame:
        store: ConfigStore = request.app.state.store
        environments = visible_environments(store, user.grant)
        environment = current_environment(request, environments)
        values |= {"environments": environments, "environment": environment}
        values["nav"] = nav(request, environment)
    values.update(context)
    html = ENVIRONMENT.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
