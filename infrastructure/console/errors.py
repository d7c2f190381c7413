"""Errors of the console as HTML pages (never a stack trace), and the way back to the
sign-in page when a session is missing or has ended."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from domain.errors import ConfigStoreError
from infrastructure.console.render import base_path, fragment
from infrastructure.console.security import COOKIE, SignInRequiredError, secure
from infrastructure.http.problems import store_problem

log = logging.getLogger("conduit_config.console")
_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    422: "Invalid value",
    500: "Internal error",
    503: "Unavailable",
}


@dataclass(frozen=True)
class BackLink:
    """A way back from an error page to where the user came from (besides the dashboard)."""

    href: str
    text: str


def error_page(
    request: Request, status: int, message: str, *, back: BackLink | None = None
) -> Response:
    """The error page: status, title and a message (escaped like every value), with a
    link ``back`` (e.g. to the list the failed action was on) before the dashboard's."""
    title = _TITLES.get(status, "Error")
    return fragment(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=title,
        message=message,
        back=back,
    )


def store_error_page(request: Request, exc: ConfigStoreError, *, back: BackLink) -> Response:
    """The error page of a store error, with the status the API gives it and ``back``."""
    return error_page(request, store_problem(exc).status_code, str(exc), back=back)


def too_large_page(request: Request, limit: int) -> Response:
    """The 413 page for a form whose body is over ``limit`` bytes. The body limit answers
    it before the console sees the request (``request`` is as the console would see it),
    so the page carries the console's security headers itself."""
    message = (
        f"The form was too large: this server takes at most {limit} bytes"
        " (CONDUIT_CONFIG_HTTP_MAX_BODY_BYTES). Nothing was saved."
    )
    response = error_page(request, 413, message)
    secure(response.headers)
    return response


def to_sign_in(request: Request) -> Response:
    """Back to the sign-in page: a 303 for a page (returning here after a GET), an
    ``HX-Redirect`` for an htmx request. The dead session's cookie is dropped."""
    base = base_path(request)
    target = f"{base}/login"
    back = _return_path(request)
    if back is not None and back != f"{base}/":
        target += "?next=" + quote(back, safe="")
    response: Response
    if request.headers.get("HX-Request"):
        response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=base, httponly=True, samesite="strict")
    return response


def _return_path(request: Request) -> str | None:
    """Where to come back after signing in again: the page a GET asked for, or for an
    htmx request the page it was made from (``HX-Current-URL``), never the fragment
    itself (sign-in would land on a piece of a page). Sign-in checks it again."""
    if request.headers.get("HX-Request"):
        current = urlsplit(request.headers.get("HX-Current-URL") or "")
        if not current.path:
            return None
        return current.path + (f"?{current.query}" if current.query else "")
    if request.method != "GET":
        return None
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def install(app: FastAPI) -> None:
    """Register the console's error handlers on its app."""

    async def on_sign_in(request: Request, exc: Exception) -> Response:
        return to_sign_in(request)

    async def on_store_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConfigStoreError)
        return error_page(request, store_problem(exc).status_code, str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return error_page(request, 400, f"The request was not understood ({fields}).")

    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("console: internal error on %s %s", request.method, request.url.path)
        response = error_page(request, 500, "Something went wrong; the server log says what.")
        secure(response.headers)  # this answer bypasses the console's middleware
        return response

    app.add_exception_handler(SignInRequiredError, on_sign_in)
    app.add_exception_handler(ConfigStoreError, on_store_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_bug)
