"""Sign-in (``/ui/login``) and sign-out (``/ui/logout``).

Signing in takes a pasted API token, checked by the API's own token authentication; the
browser then holds only a random session cookie. The token is never written to a cookie,
a URL, a page or a log line.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from domain.areas.access_token import hash_token
from infrastructure.console.render import base_path, forget_environment, fragment
from infrastructure.console.security import (
    COOKIE,
    CSRF_FIELD,
    LOGIN_COOKIE,
    CsrfRefusedError,
    Form,
    SignedIn,
    console_of,
    csrf_matches,
    same_site,
    tokens_of,
)
from infrastructure.errors import AuthenticationError

public_router = APIRouter()
router = APIRouter()
# A return path after sign-in: a console path, nothing that could leave the site.
_NEXT = re.compile(r"/[A-Za-z0-9/_.:@%?=&~+-]*")
Next = Annotated[str, Query(max_length=2000)]


def safe_next(request: Request, target: str | None) -> str:
    """``target`` when it is a path of the console (no other site, no scheme), else the
    dashboard."""
    base = base_path(request)
    home = f"{base}/"
    if not target or not _NEXT.fullmatch(target) or "//" in target:
        return home
    # A "." or ".." segment (%2e and %2f spelled or not) would climb out of the console.
    segments = unquote(target.partition("?")[0]).split("/")
    if "." in segments or ".." in segments:
        return home
    return target if target.startswith(home) else home


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """An HttpOnly, SameSite=Strict cookie for the console's path only; Secure over https."""
    response.set_cookie(
        name,
        value,
        path=base_path(request),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def forget_cookie(request: Request, response: Response, name: str) -> None:
    """Tell the browser to drop the console cookie ``name``."""
    response.delete_cookie(
        name,
        path=base_path(request),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _form(
    request: Request, *, status_code: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    """The sign-in form with a double-submit CSRF value (cookie and hidden field)."""
    csrf = request.cookies.get(LOGIN_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", csrf):
        csrf = secrets.token_urlsafe(32)
    target = safe_next(request, request.query_params.get("next"))
    headers = {"Retry-After": "60"} if status_code == 429 else None
    response = fragment(
        request,
        "login.html",
        status_code=status_code,
        headers=headers,
        csrf=csrf,
        next=target,
        error=error,
        notice=notice,
    )
    set_cookie(request, response, LOGIN_COOKIE, csrf)
    return response


@public_router.get("/login", summary="Sign-in form")
def login_form(request: Request, signed_out: bool = False) -> Response:
    """The sign-in form; ``signed_out`` says the session just ended."""
    return _form(request, notice="You are signed out." if signed_out else None)


@public_router.post("/login", summary="Sign in with an API token")
def login(request: Request, form: Form) -> Response:
    """Open a session for a valid token and go to ``next`` (303), ending the session the
    browser had (its cookie) if any. A wrong token gets the form again (401) without its
    text; more than ``CONDUIT_CONFIG_CONSOLE_SIGNIN_FAILURES`` failures a minute from one
    address get 429. Raises :class:`CsrfRefusedError` without the form's CSRF value."""
    if not same_site(request) or not csrf_matches(
        form.get(CSRF_FIELD) or "", request.cookies.get(LOGIN_COOKIE) or ""
    ):
        raise CsrfRefusedError("the sign-in form expired; load it again")
    console = console_of(request)
    client = request.client.host if request.client else "unknown"
    if console.throttle.blocked(client):
        return _form(request, status_code=429, error="Too many failed sign-ins: wait a minute.")
    token = (form.get("token") or "").strip()
    try:
        grant = tokens_of(request).authenticate(f"Bearer {token}")
    except AuthenticationError:
        console.throttle.failed(client)
        error = "That token was not accepted: it is unknown, revoked or expired."
        return _form(request, status_code=401, error=error)
    # A browser signing in again leaves no session behind: the one its cookie names ends
    # (whoever it was for) before the new one opens under a new cookie value.
    previous = request.cookies.get(COOKIE)
    if previous:
        console.sessions.end_cookie(previous)
    opened = console.sessions.open(grant.name, hash_token(token))
    response = RedirectResponse(safe_next(request, form.get("next")), status_code=303)
    set_cookie(request, response, COOKIE, opened.cookie)
    forget_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout", summary="Sign out")
def logout(request: Request, user: SignedIn) -> Response:
    """End the session on the server, drop its cookie and the environment last visited,
    go to the sign-in page."""
    console_of(request).sessions.end(user.session)
    response = RedirectResponse(f"{base_path(request)}/login?signed_out=true", status_code=303)
    forget_cookie(request, response, COOKIE)
    forget_environment(request, response)
    return response
