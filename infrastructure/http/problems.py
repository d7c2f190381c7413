"""RFC 7807 ``application/problem+json`` for every error, and no stack trace ever."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from domain.address import InvalidAddressError
from domain.errors import (
    AreaNotFoundError,
    BrokenLogError,
    ConfigStoreError,
    EntryStateError,
    InvalidValueError,
    NotFoundError,
    PermissionDeniedError,
    SecretKeyError,
    VersionConflictError,
)
from domain.parsing import MalformedInputError
from domain.stored import STORED_VALUE_TYPE, StoredValueError
from infrastructure.errors import AuditKeyError, AuthenticationError, StorageError

PROBLEM_TYPE = "application/problem+json"
#: RFC 7807 ``type`` of the 503 answered for an entry whose own log is damaged.
BROKEN_LOG_TYPE = "urn:conduit-config:problem:broken-log"
log = logging.getLogger("conduit_config.http")

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid value",
    428: "Precondition required",
    500: "Internal error",
    503: "Service unavailable",
}

_STATUS: tuple[tuple[type[ConfigStoreError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (InvalidValueError, 422),
    (InvalidAddressError, 400),
    (MalformedInputError, 400),
    (AreaNotFoundError, 404),
    (NotFoundError, 404),
    (VersionConflictError, 409),
    (EntryStateError, 409),
    (StorageError, 503),
    (SecretKeyError, 503),
    (AuditKeyError, 503),  # this server lacks the log's audit key: not the caller's fault
)


class PreconditionFailedError(ConfigStoreError):
    """``If-Match`` named a version that is no longer current (412)."""


class PreconditionRequiredError(ConfigStoreError):
    """The server requires ``If-Match`` on writes and none was sent (428)."""


class BadRequestError(ConfigStoreError):
    """A malformed header, query or body the store never saw (400)."""


#: Errors of the HTTP layer itself, each answered with its status and message.
_HTTP_ONLY: tuple[tuple[type[ConfigStoreError], int], ...] = (
    (PreconditionFailedError, 412),
    (PreconditionRequiredError, 428),
    (BadRequestError, 400),
)


def problem(status: int, detail: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:  # the database is down: callers retry after the breaker's cooldown
        headers = {"Retry-After": "1"}
    try:
        content = orjson.dumps(body)
    except TypeError:  # a lone surrogate quoted from the input: escape it, never a 500
        content = orjson.dumps(valid_utf8(body))
    return Response(content, status, headers=headers, media_type=PROBLEM_TYPE)


def valid_utf8(data: Any) -> Any:
    """``data`` with every string made valid UTF-8 (lone surrogates as ``\\udxxx``)."""
    if isinstance(data, str):
        return data.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(data, dict):
        return {valid_utf8(str(k)): valid_utf8(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [valid_utf8(item) for item in data]
    return data


def store_problem(exc: ConfigStoreError) -> Response:
    """The problem response of one of the store's errors."""
    if isinstance(exc, BrokenLogError):
        return _broken(exc)
    plain = next((code for kind, code in _HTTP_ONLY if isinstance(exc, kind)), None)
    if plain is not None:
        return problem(plain, str(exc))
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    if isinstance(exc, InvalidValueError):
        return _invalid(exc, status)
    if isinstance(exc, VersionConflictError):
        return problem(status, str(exc), current_version=exc.current)
    return problem(status, str(exc))


def _broken(exc: BrokenLogError) -> Response:
    """503 without ``Retry-After``: retrying cannot help, a repair can."""
    response = problem(503, str(exc), type=BROKEN_LOG_TYPE, entry=exc.entry, position=exc.position)
    del response.headers["Retry-After"]
    return response


def _invalid(exc: InvalidValueError, status: int) -> Response:
    if isinstance(exc, StoredValueError):  # the request is fine; what is stored is not
        stored = exc.problem
        return problem(
            status, str(exc), type=STORED_VALUE_TYPE, entry=stored.entry, reason=stored.reason
        )
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(status, str(exc), errors=errors)


def _validation_problem(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "the request body is not valid JSON")
    fields = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "message": str(e.get("msg", "invalid")),
        }
        for e in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, f"invalid request: {detail}", errors=fields)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at the request's path (Starlette's 405 names only
    the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_store_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConfigStoreError)
        return store_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        response = problem(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed(request))
        return response

    async def on_bug(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return problem(500, f"internal error ({type(exc).__name__}); see the server log")

    app.add_exception_handler(ConfigStoreError, on_store_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_bug)
