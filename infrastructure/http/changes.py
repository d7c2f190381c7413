"""``/v1/audit`` (filtered, paged backwards) and ``/v1/changes`` (server-sent events,
resumable with ``Last-Event-ID``), both served by the audit projection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from domain import parsing
from domain.access import Grant, Role
from domain.address import DEFAULT_ENVIRONMENT, SYSTEM_ENVIRONMENT, check_name
from domain.errors import PermissionDeniedError
from domain.parsing import MAX_INT64
from infrastructure.errors import AuthenticationError
from infrastructure.http.common import (
    MinPosition,
    QueryInt,
    header_text,
    json_response,
    parse_time,
    store_of,
)
from infrastructure.http.problems import BadRequestError
from infrastructure.http.revealing import revealer, stream_values
from infrastructure.http.schemas import READ_ERRORS, AuditOut, problems
from infrastructure.http.security import Caller, tokens_of
from infrastructure.http.services import services_of
from infrastructure.presenters import audit_json
from infrastructure.store import ConfigStore
from infrastructure.store.readmodels import AuditQuery
from infrastructure.store.reveals import VIA_STREAM, Revealer
from projections.audit import AuditRow

router = APIRouter(tags=["audit"])
STREAM_BATCH = 500
KEEPALIVE_SECONDS = 15.0


class ChangeFeed:
    """Wakes the open change streams when the projections have moved.

    ``notify`` may be called from any thread (the projection follower's). A stream
    takes :attr:`generation` before it reads and passes it to :meth:`wait`, so a
    notification that came while it was reading is not lost (it would otherwise sleep
    until the keep-alive).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self.generation = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (at start-up)."""
        self._loop = loop

    def notify(self, _processed: int = 0) -> None:
        """Wake every waiting stream."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self.generation += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float, *, since: int | None = None) -> bool:
        """Wait for a notification; ``True`` at once when one came after generation
        ``since``, ``False`` when ``timeout`` passed first."""
        if since is not None and since != self.generation:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
        return True


def audit_environment(env: str, grant: Grant, area: str | None) -> None:
    if env == SYSTEM_ENVIRONMENT:
        grant.require(Role.ADMIN)
        return
    check_name("environment", env)
    grant.require(Role.READER, env, area, any_area=area is None)


@router.get(
    "/v1/audit",
    summary="The audit trail of an environment, newest first",
    response_model=AuditOut,
    responses=problems(*READ_ERRORS),
)
def audit(
    request: Request,
    grant: Caller,
    env: Annotated[str, Query(description="Environment (`_system`: tokens, admin only).")] = (
        DEFAULT_ENVIRONMENT
    ),
    area: str | None = None,
    key: str | None = None,
    actor: str | None = None,
    since: Annotated[str | None, Query(description="ISO-8601 time, inclusive.")] = None,
    until: Annotated[str | None, Query(description="ISO-8601 time, inclusive.")] = None,
    before: Annotated[
        QueryInt | None, Query(ge=1, le=MAX_INT64, description="Page: rows before it.")
    ] = None,
    limit: Annotated[QueryInt, Query(ge=1, le=10_000)] = 50,
    min_position: MinPosition = None,
) -> Response:
    """``next_before`` is the cursor of the next (older) page, ``null`` at the end."""
    audit_environment(env, grant, area)
    query = AuditQuery(
        environment=env,
        area=area,
        key=key,
        actor=actor,
        since=parse_time(since, name="since") if since is not None else None,
        until=parse_time(until, name="until") if until is not None else None,
        before=before,
        limit=limit,
        areas=grant.visible_areas(env),
    )
    rows = store_of(request).audit(query, min_position=min_position)
    items = [audit_json(r) for r in rows if grant.sees(r.environment, r.area)]
    cursor = rows[-1].position if len(rows) == limit else None
    return json_response({"items": items, "next_before": cursor})


def change_event(row: AuditRow, extra: dict[str, Any] | None = None) -> bytes:
    """One ``change`` server-sent event: where, which version, what, who and when, plus
    ``extra`` members (the value, for a stream that reveals)."""
    data: dict[str, Any] = {
        "position": row.position,
        "environment": row.environment,
        "area": row.area,
        "key": row.key,
        "version": row.version,
        "event": row.event,
        "actor": row.actor,
        "recorded_at": row.recorded_at,
        **(extra or {}),
    }
    return b"id: %d\nevent: change\ndata: %s\n\n" % (row.position, orjson.dumps(data))


def check_stream(grant: Grant, env: str | None, area: str | None, *, reveal: bool) -> None:
    """What opening the stream needs (403/400 otherwise)."""
    if reveal:
        if env is None:
            raise BadRequestError("reveal needs env")
        grant.require_reveal(env, area)
    if env is not None:
        audit_environment(env, grant, area)


def _regrant(request: Request, env: str | None, area: str | None, *, reveal: bool) -> Grant | None:
    """The caller's grant now, or ``None`` when its token was revoked, expired or may no
    longer follow this stream: an open stream must not outlive its permission (it would
    go on sending secrets to a revoked token)."""
    try:
        grant = tokens_of(request).authenticate(request.headers.get("authorization"))
        check_stream(grant, env, area, reveal=reveal)
    except (AuthenticationError, PermissionDeniedError):
        return None
    return grant


def _start(after: int | None, last_event_id: str | None) -> int:
    if after is not None:
        return after
    if last_event_id is None:
        return 0
    return parsing.position(header_text(last_event_id).strip(), name="Last-Event-ID")


async def within_log(store: ConfigStore, position: int, name: str) -> None:
    """Refuse a start past the log's head (an id from another or a restored database):
    the stream would skip every change up to it and send nothing meanwhile."""
    if position > 0:
        head = await run_in_threadpool(store.index.head)
        if position > head:
            raise parsing.MalformedInputError(
                name, f"position {position} is beyond the last position in the log ({head})"
            )


@dataclass(frozen=True)
class ChangeStream:
    """One open ``/v1/changes`` stream: what it follows and for whom (``who`` is set
    when it reveals)."""

    request: Request
    store: ConfigStore
    feed: ChangeFeed
    env: str | None
    area: str | None
    who: Revealer | None

    async def events(self, position: int) -> AsyncIterator[bytes]:
        """The stream's bytes: the changes after ``position`` in batches, then each new
        one as the feed wakes it, with a keep-alive when nothing came; it ends when the
        client goes or the caller may no longer follow it."""
        last = position
        yield b"retry: 1000\n\n"
        while not await self.request.is_disconnected():
            seen = self.feed.generation
            rows = await run_in_threadpool(
                self.store.changes_after,
                last,
                environment=self.env,
                area=self.area,
                limit=STREAM_BATCH,
            )
            events = await self._events_of(rows)
            if events is None:
                return  # revoked, expired or out of scope since it opened: nothing more
            for event in events:
                yield event
            if rows:
                last = rows[-1].position
            if len(rows) < STREAM_BATCH and not await self.feed.wait(KEEPALIVE_SECONDS, since=seen):
                yield b": keep-alive\n\n"

    async def _events_of(self, rows: list[AuditRow]) -> list[bytes] | None:
        """The events of a batch that the caller may see now; ``None`` once it may no
        longer follow the stream (:func:`_regrant`)."""
        reveal = self.who is not None
        now = await run_in_threadpool(_regrant, self.request, self.env, self.area, reveal=reveal)
        if now is None:
            return None
        visible = [row for row in rows if now.sees(row.environment, row.area)]
        # Recorded before any is sent; a failure ends the stream with nothing revealed.
        extra = (
            await run_in_threadpool(stream_values, self.store, self.who, visible)
            if self.who
            else {}
        )
        return [change_event(row, extra.get(row.position)) for row in visible]


@router.get(
    "/v1/changes",
    summary="Every change as server-sent events; resume with Last-Event-ID",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **problems(*READ_ERRORS),
    },
)
async def changes(
    request: Request,
    grant: Caller,
    env: str | None = None,
    area: str | None = None,
    after: Annotated[
        QueryInt | None, Query(ge=0, le=MAX_INT64, description="Start after this position.")
    ] = None,
    last_event_id: Annotated[str | None, Header(description="The last id received.")] = None,
    reveal: Annotated[
        bool,
        Query(
            description="Each change carries the entry's value with secrets in plaintext"
            " (needs `env`; service and admin; each reveal recorded)."
        ),
    ] = False,
) -> StreamingResponse:
    """``id:`` is the log position: a client that reconnects with the last id it got
    receives every later change once, none missed. With ``reveal`` each change also
    has ``value`` (or ``deleted``, or the ``problem`` keeping it from being served).
    The token is checked again before each batch: the stream ends once it is revoked,
    expired or no longer allowed."""
    check_stream(grant, env, area, reveal=reveal)
    position = _start(after, last_event_id)
    store = store_of(request)
    await within_log(store, position, "after" if after is not None else "Last-Event-ID")
    who = revealer(request, grant, VIA_STREAM) if reveal else None
    stream = ChangeStream(request, store, services_of(request).feed, env, area, who)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        stream.events(position), media_type="text/event-stream", headers=headers
    )
