"""Pieces every router uses: the store of the app, JSON responses, shared parameters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi import Query, Request
from pydantic import AfterValidator, BeforeValidator
from starlette.responses import Response

from domain import parsing
from domain.access import Grant
from domain.address import Address, check_name
from domain.errors import InvalidValueError
from domain.parsing import MAX_INT64, MalformedInputError
from infrastructure.http.problems import BadRequestError, valid_utf8
from infrastructure.http.services import services_of
from infrastructure.store import ConfigStore

POSITION_HEADER = "X-Config-Position"
ENTRY = "/entries/{area}/{key}"
# ``\u0000`` in JSON text: the escape itself, not an escaped backslash before "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def header_text(value: str) -> str:
    """A header as its sender wrote it: the server decodes header bytes as latin-1, so
    UTF-8 text (``²`` in ``If-Match``) is read back as UTF-8 for parsing and messages;
    bytes that are not UTF-8 stay as they were."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _ascii_digits(value: Any) -> Any:
    """A query's text must be digits 0-9 only (pydantic alone takes ``+5``, ``1_0``)."""
    if isinstance(value, str) and not parsing.is_whole_number(value):
        raise ValueError("must be a whole number (digits 0-9)")
    return value


def utc_time(value: datetime) -> datetime:
    """A body's time in UTC; outside years 1-9999 once converted is invalid (422)."""
    try:
        return parsing.in_utc(value, name="time")
    except MalformedInputError as exc:
        raise ValueError(exc.problem) from None


#: An integer query parameter: ASCII digits; bound it with ``Query(ge=, le=MAX_INT64)``.
QueryInt = Annotated[int, BeforeValidator(_ascii_digits)]
#: A time in a body: ISO-8601, returned in UTC (naive ones are UTC).
UtcTime = Annotated[datetime, AfterValidator(utc_time)]
MinPosition = Annotated[
    QueryInt | None,
    Query(
        ge=0,
        le=MAX_INT64,
        description="Read-your-writes: wait (bounded) until projections reach it.",
    ),
]


def entry_address(env: str, area: str, key: str) -> Address:
    """The address named by a URL; raises :class:`InvalidAddressError` for a bad name."""
    return Address(check_name("environment", env), area, key)


def store_of(request: Request) -> ConfigStore:
    """The store the app was built with."""
    return services_of(request).store


def json_response(
    body: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response encoded by orjson (datetimes as ISO-8601); a lone surrogate in a
    string is sent escaped rather than failing the response."""
    try:
        content = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        content = orjson.dumps(valid_utf8(body), option=orjson.OPT_NON_STR_KEYS)
    return Response(content, status, headers=headers, media_type="application/json")


def parse_time(text: str, *, name: str) -> datetime:
    """An ISO-8601 time in UTC; a naive one is UTC. Raises :class:`MalformedInputError`
    (400) naming ``name``, also when the time is out of range once in UTC."""
    return parsing.moment(text, name=name)


async def refuse_nul(request: Request) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the URL (400) or the JSON body (422)
    before it reaches a query, or the log where it would stop the projections."""
    query = unquote_to_bytes(request.scope["query_string"])
    if "\x00" in request.scope["path"] or b"\x00" in query:
        raise BadRequestError("the URL contains a NUL character (%00)")
    if _JSON_NUL.search(await request.body()):
        raise InvalidValueError.single("body", "text must not contain NUL (\\u0000)")


def grant_may_reveal(grant: Grant, environment: str, areas: Iterable[str]) -> bool:
    """Whether the caller may see the secrets of every one of ``areas`` in
    ``environment`` in plaintext (admin; service within its scope). Only then does a
    write keep the ciphertext of a plaintext secret equal to the stored one (answering
    "unchanged"); for any other caller a plaintext secret is always a change, so no
    answer tells whether a guess was right."""
    return all(grant.may_reveal(environment, area) for area in areas)
