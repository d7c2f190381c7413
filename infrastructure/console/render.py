"""HTML of the console: one Jinja2 environment over ``templates/`` with autoescaping on,
and :func:`page`, which every page handler returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse, Response

from domain.access import Grant, Role
from domain.address import DEFAULT_ENVIRONMENT, InvalidAddressError, check_name
from infrastructure.console.queries import seen_environments
from infrastructure.console.security import ConsoleUser

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
#: The environment the user was last on (its name, URL-quoted): the header's default on
#: pages that are not about one environment.
LAST_ENV_COOKIE = "cc_console_env"
#: The picker's default when the user was on no environment yet, in this order.
PREFERRED_ENVIRONMENTS = ("prod", DEFAULT_ENVIRONMENT)


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


def current_environment(request: Request, environments: list[str], grant: Grant) -> str:
    """The environment the header's picker and links are about: the page's own (its
    ``{env}``, else an ``?env=`` of the query that ``grant`` may read), else the one the
    user was last on (the :data:`LAST_ENV_COOKIE`) if ``grant`` may still read it, else
    ``prod`` or the store's default environment when they have entries the user sees,
    else the first environment the user sees."""
    env = request.path_params.get("env")
    if isinstance(env, str):
        return env
    remembered = unquote(request.cookies.get(LAST_ENV_COOKIE, ""))
    for candidate in (request.query_params.get("env", ""), remembered):
        if _readable(grant, candidate):
            return candidate
    for preferred in PREFERRED_ENVIRONMENTS:
        if preferred in environments:
            return preferred
    return environments[0] if environments else DEFAULT_ENVIRONMENT


def _readable(grant: Grant, env: str) -> bool:
    """Whether ``env`` is a well-formed name of which ``grant`` reads some area."""
    try:
        check_name("environment", env)
    except InvalidAddressError:
        return False
    return grant.allows(Role.READER, env, any_area=True)


def remember_environment(request: Request, response: Response, grant: Grant) -> None:
    """Keep the page's ``{env}`` in the :data:`LAST_ENV_COOKIE` when ``grant`` reads it
    (HttpOnly, SameSite=Strict, the console's path, Secure over https, for the browser
    session), so pages without an environment default to it."""
    env = request.path_params.get("env")
    if not isinstance(env, str) or not _readable(grant, env):
        return
    value = quote(env, safe="")
    if request.cookies.get(LAST_ENV_COOKIE) == value:
        return
    response.set_cookie(LAST_ENV_COOKIE, value, **_env_cookie(request))


def forget_environment(request: Request, response: Response) -> None:
    """Drop the :data:`LAST_ENV_COOKIE` (at sign-out), so whoever signs in next in this
    browser does not start on the environment the last user was on."""
    response.delete_cookie(LAST_ENV_COOKIE, **_env_cookie(request))


def _env_cookie(request: Request) -> dict[str, Any]:
    """The :data:`LAST_ENV_COOKIE`'s attributes; deleting it needs the same path."""
    return {
        "path": base_path(request) or "/",
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
    }


def nav(request: Request, environment: str) -> list[NavLink]:
    """Links to every page group; pages that are about an environment (the audit trail
    too) use ``environment``."""
    base, path = base_path(request), request.url.path
    name = quote(environment, safe="")
    env = f"{base}/envs/{name}"
    links = [
        ("Dashboard", f"{base}/", ""),
        ("Areas", f"{env}/areas", ""),
        ("Compare", f"{env}/compare", ""),
        ("Snapshots", f"{env}/snapshots", ""),
        ("Scheduled", f"{env}/scheduled", ""),
        ("Audit", f"{base}/audit", f"?env={name}"),
        ("Diagnostics", f"{base}/diagnostics", ""),
    ]
    return [
        NavLink(
            label,
            href + query,
            path == href or (href != f"{base}/" and path.startswith(href)),
        )
        for label, href, query in links
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
    ``environments`` (those the user sees), ``environment`` (see
    :func:`current_environment`) and ``nav``; remembers the page's environment (see
    :func:`remember_environment`). Raises :class:`StorageError` when the environments
    cannot be read.
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
        environments = seen_environments(request, user.grant)
        environment = current_environment(request, environments, user.grant)
        values |= {"environments": environments, "environment": environment}
        values["nav"] = nav(request, environment)
    values.update(context)
    html = ENVIRONMENT.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if user is not None and frame:
        remember_environment(request, response, user.grant)
    return response
