"""Pieces every router uses: the store of the app, JSON responses, shared parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import Query, Request
from starlette.responses import Response

from domain.address import Address, check_name
from domain.errors import InvalidValueError
from infrastructure.http.problems import BadRequestError
from infrastructure.store import ConfigStore

POSITION_HEADER = "X-Config-Position"
ENTRY = "/entries/{area}/{key}"
# ``\u0000`` in JSON text: the escape itself, not an escaped backslash before "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Read-your-writes: wait (bounded) until projections reach it."),
]


def entry_address(env: str, area: str, key: str) -> Address:
    """The address named by a URL; raises :class:`InvalidAddressError` for a bad name."""
    return Address(check_name("environment", env), area, key)


def store_of(request: Request) -> ConfigStore:
    """The store the app was built with."""
    store: ConfigStore = request.app.state.store
    return store


def json_response(
    body: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response encoded by orjson (datetimes as ISO-8601)."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status,
        headers=headers,
        media_type="application/json",
    )


def parse_time(text: str, *, name: str) -> datetime:
    """An ISO-8601 time; a naive one is UTC. Raises :class:`BadRequestError` naming ``name``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequestError(
            f"{name}: {text!r} is not an ISO-8601 time (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the URL (400) or the JSON body (422)
    before it reaches a query, or the log where it would stop the projections."""
    query = unquote_to_bytes(request.scope["query_string"])
    if "\x00" in request.scope["path"] or b"\x00" in query:
        raise BadRequestError("the URL contains a NUL character (%00)")
    if _JSON_NUL.search(await request.body()):
        raise InvalidValueError.single("body", "text must not contain NUL (\\u0000)")
