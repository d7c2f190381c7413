"""The rules every request body meets before a handler sees it: at most the size limit
(declared or streamed), JSON by media type, and strict JSON (no ``NaN`` or
``Infinity``, valid UTF-8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.parsing import is_whole_number
from infrastructure.http import problems

FORM = b"application/x-www-form-urlencoded"


class BodyLimit:
    """ASGI middleware: reads the whole body first (keeping at most ``limit`` bytes) and
    answers 413 when it is over the limit, whether its ``Content-Length`` says so or a
    chunked body grows past it; 415 when a body is not JSON; 400 when it is not strict
    JSON. Otherwise the app gets the body as one message. A body refused part-way is
    left to the server, which discards the rest on a kept-alive connection, so the
    client reads the answer instead of a reset. Under ``forms_under`` (the console's
    pages) an HTML form's url-encoded body is taken too, within the same size limit, and
    ``forms_too_large`` (given the request as the app mounted there sees it, and the
    limit) answers a body over it instead of the JSON problem."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        forms_under: str | None = None,
        forms_too_large: Callable[[Request, int], Response] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.forms_under = forms_under
        self.forms_too_large = forms_too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self._refuse_declared(headers.get(b"content-length"), scope)
        body = b""
        if refusal is None:
            read = await self._read(receive)
            if read is None:
                return  # the client left before sending its body
            body, over = read
            refusal = self._too_large(scope) if over else self._refuse(body, headers, scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _refuse_declared(self, declared: bytes | None, scope: Scope) -> Response | None:
        if declared is None:
            return None
        text = declared.decode("latin-1").strip()
        if not is_whole_number(text):
            return problems.problem(400, "bad Content-Length")
        if int(text) > self.limit:
            return self._too_large(scope)
        return None

    async def _read(self, receive: Receive) -> tuple[bytes, bool] | None:
        """The whole body and ``False``, or ``b""`` and ``True`` as soon as it outgrows
        the limit; ``None`` when the client disconnected."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    def _refuse(self, body: bytes, headers: dict[bytes, bytes], scope: Scope) -> Response | None:
        if not body:
            return None
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind == FORM and self._under_forms(scope):
            return None
        if kind and kind != b"application/json" and not kind.endswith(b"+json"):
            shown = kind.decode("latin-1")
            return problems.problem(415, f"send JSON (Content-Type: application/json), not {shown}")
        problem = strict_json_problem(body)
        return None if problem is None else problems.problem(400, problem)

    def _under_forms(self, scope: Scope) -> bool:
        return bool(self.forms_under) and str(scope["path"]).startswith(str(self.forms_under))

    def _too_large(self, scope: Scope) -> Response:
        if self.forms_too_large is not None and self._under_forms(scope):
            # The scope the app mounted at forms_under gets (its links start there).
            mount = str(self.forms_under).rstrip("/")
            mounted = {**scope, "root_path": scope.get("root_path", "") + mount}
            return self.forms_too_large(Request(mounted), self.limit)
        return problems.problem(413, f"the request body is over {self.limit} bytes")


def strict_json_problem(body: bytes) -> str | None:
    """Why ``body`` is not strict JSON (RFC 8259: UTF-8, no ``NaN``/``Infinity``), or
    ``None`` when it is."""
    try:
        # Decoded here, strictly: json.loads of bytes lets UTF-8-encoded surrogates pass.
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the request body is not valid JSON: it is not UTF-8"
    try:
        json.loads(text, parse_constant=_no_constant)
    except _ConstantError as exc:
        return f"the request body is not valid JSON: {exc.args[0]} is not a JSON number"
    except RecursionError:
        return "the request body is not valid JSON: it is nested too deeply"
    except ValueError:
        return "the request body is not valid JSON"
    return None


class _ConstantError(ValueError):
    pass


def _no_constant(name: str) -> NoReturn:
    raise _ConstantError(name)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` as one message, then defers to ``receive`` (for
    the disconnect a streaming response waits on)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return replayed
