"""Who is calling: the bearer token's grant, and the provenance of its changes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.datastructures import Headers

from domain.access import Grant
from domain.entry import Provenance
from infrastructure.auth import TokenService
from infrastructure.http.problems import BadRequestError
from infrastructure.http.services import services_of


def tokens_of(request: Request) -> TokenService:
    """The token service the app was built with."""
    return services_of(request).tokens


def caller(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Grant:
    """The grant of the request's bearer token; 401 without a valid one."""
    grant = tokens_of(request).authenticate(authorization)
    request.state.actor = grant.name
    return grant


Caller = Annotated[Grant, Depends(caller)]


def _text(headers: Headers, name: str) -> str | None:
    """A header that carries text, as UTF-8 (what curl sends for ``-H 'X: déjà'``; a
    server decodes header bytes as latin-1). Raises :class:`BadRequestError` when its
    bytes are not UTF-8."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise BadRequestError(f"{name} must be UTF-8 text") from None


def provenance(
    grant: Grant,
    request: Request,
    reason: str | None = None,
    *,
    source: str = "api",
) -> Provenance:
    """The token's name as actor; ``reason`` from the body, else ``X-Change-Reason``;
    the correlation id from ``X-Correlation-ID`` or ``X-Request-ID`` when sent."""
    headers = request.headers
    why = reason if reason is not None else _text(headers, "X-Change-Reason")
    correlation = (
        _text(headers, "X-Correlation-ID") or _text(headers, "X-Request-ID") or str(uuid.uuid4())
    )
    return Provenance.checked(
        actor=grant.name, reason=why, source=source, correlation_id=correlation
    )
