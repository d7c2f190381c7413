"""``/ui/live``: the console's change stream (server-sent events over the session cookie).

It is the API's ``/v1/changes`` stream (the same feed, batches and keep-alives) with two
differences: the caller is the console session, re-checked before each batch (the stream
ends once the session or its token has ended, or the token may no longer read the
environment), and an event never carries a value: only ``position``,
``environment``, ``area``, ``key``, ``version``, ``event``, ``actor`` and
``recorded_at``. ``env=*`` follows every environment the user sees (the dashboard);
without ``Last-Event-ID`` it starts at the log's head (a page wants what changes while it
is open, not the history).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from domain import parsing
from domain.access import Grant
from domain.errors import PermissionDeniedError
from infrastructure.console.security import COOKIE, SignedIn, console_of, tokens_of
from infrastructure.errors import AuthenticationError
from infrastructure.http.changes import (
    ChangeStream,  # the API stream's loop, reused with the console's checks
    change_event,
    check_stream,
    within_log,
)
from infrastructure.http.common import header_text
from infrastructure.http.services import services_of
from infrastructure.store import ConfigStore
from projections.audit import AuditRow

router = APIRouter()
#: ``env`` for every environment the user sees.
EVERY = "*"


def session_grant(request: Request, env: str | None) -> Grant | None:
    """The session's grant now, or ``None`` when the session ended (signed out, idle,
    expired), its token no longer authenticates (its sessions end too) or may no longer
    read ``env``. Raises :class:`StorageError`."""
    cookie = request.cookies.get(COOKIE)
    sessions = console_of(request).sessions
    session = sessions.peek(cookie) if cookie else None
    if session is None:
        return None
    try:
        grant = tokens_of(request).grant_of(session.token_name, session.token_hash)
    except AuthenticationError:
        sessions.end_token(session.token_name)
        return None
    try:
        check_stream(grant, env, None, reveal=False)
    except PermissionDeniedError:
        return None
    return grant


class LiveStream(ChangeStream):
    """The API's change stream, checked against the console session and stripped of
    values (``who`` is always ``None``: nothing is revealed here)."""

    async def _events_of(self, rows: list[AuditRow]) -> list[bytes] | None:
        now = await run_in_threadpool(session_grant, self.request, self.env)
        if now is None:
            return None
        return [change_event(row) for row in rows if now.sees(row.environment, row.area)]


async def _start(store: ConfigStore, last_event_id: str | None) -> int:
    """Where the stream starts: after the id a reconnecting browser sends, else after
    the log's head now. Raises :class:`MalformedInputError` for a bad or future id."""
    if last_event_id is None:
        head: int = await run_in_threadpool(store.index.head)
        return head
    position = parsing.position(header_text(last_event_id).strip(), name="Last-Event-ID")
    await within_log(store, position, "Last-Event-ID")
    return position


@router.get("/live", summary="Changes as server-sent events", response_class=StreamingResponse)
async def live(
    request: Request,
    user: SignedIn,
    env: Annotated[str, Query(max_length=200, description="An environment, or `*`.")],
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """``event: change`` with ``{position, environment, area, key, version, event,
    actor, recorded_at}`` for each change the user may see; 403 when it may not read ``env``."""
    wanted = None if env == EVERY else env
    check_stream(user.grant, wanted, None, reveal=False)
    store = services_of(request).store
    position = await _start(store, last_event_id)
    feed = services_of(request).feed
    stream = LiveStream(request, store, feed, wanted, None, None)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        stream.events(position), media_type="text/event-stream", headers=headers
    )
