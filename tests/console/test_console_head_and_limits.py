"""``HEAD`` on the console answers as ``GET`` without the body, and a console form over the
body size limit gets an HTML 413 page (the API keeps its JSON problem)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from infrastructure.console import HeadAsGet
from infrastructure.console.security import CSP
from tests.console.conftest import bearer, sign_in
from tests.infrastructure.http.conftest import ClientMaker, Headers
from tests.infrastructure.http.test_body_rules_server import LIMIT as SERVER_LIMIT
from tests.infrastructure.http.test_body_rules_server import server

__all__ = ["server"]  # a fixture: uvicorn in a thread over the test store

LIMIT = 4096


def _same_but_body(head: Any, get: Any) -> None:
    assert head.status_code == get.status_code
    assert head.content == b""
    for name in ("content-type", "content-length", "location", "cache-control"):
        assert head.headers.get(name) == get.headers.get(name), name
    assert head.headers["content-security-policy"] == CSP


def test_head_of_pages_when_signed_out_redirects_as_get(client: TestClient) -> None:
    for path in ("/ui/", "/ui/audit?env=prod", "/ui/envs/default/areas"):
        head = client.head(path, follow_redirects=False)
        get = client.get(path, follow_redirects=False)
        assert head.status_code == 303, path
        _same_but_body(head, get)
    assert client.head("/ui/audit?env=prod", follow_redirects=False).headers["location"] == (
        "/ui/login?next=%2Fui%2Faudit%3Fenv%3Dprod"
    )
    client.get("/ui/login")  # its double-submit cookie keeps the form the same
    _same_but_body(client.head("/ui/login"), client.get("/ui/login"))


def test_head_of_pages_when_signed_in(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    for path in ("/ui/", "/ui/envs/default/areas", "/ui/audit", "/ui/diagnostics"):
        head = client.head(path, follow_redirects=False)
        assert head.status_code == 200, path
        assert head.headers["cache-control"] == "no-store"
        assert int(head.headers["content-length"]) > 0
        _same_but_body(head, client.get(path, follow_redirects=False))
    missing = client.head("/ui/no-such-page")
    assert missing.status_code == 404
    assert missing.content == b""


def test_head_of_static_files(client: TestClient) -> None:
    for name, kind in (("console.css", "text/css"), ("console.js", "javascript")):
        head = client.head(f"/ui/static/{name}")
        get = client.get(f"/ui/static/{name}")
        assert head.status_code == 200
        assert kind in head.headers["content-type"]
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["cache-control"] == "no-cache"
        assert head.content == b""


def test_head_of_the_live_stream_ends_after_its_headers(client: TestClient, admin: Headers) -> None:
    sign_in(client, bearer(admin))
    head = client.head("/ui/live", params={"env": "*"})
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/event-stream")
    assert head.content == b""


def test_head_and_413_on_a_real_server(server: str, admin: Headers) -> None:
    with httpx.Client(base_url=server, timeout=10, trust_env=False) as http:
        sign_in(http, bearer(admin))
        head = http.head("/ui/")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) == len(http.get("/ui/").content)
        live = http.head("/ui/live", params={"env": "*"})
        assert live.status_code == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert live.content == b""
        big = http.post("/ui/logout", data={"csrf": "x", "reason": "r" * SERVER_LIMIT})
        assert big.status_code == 413
        assert f"at most {SERVER_LIMIT} bytes" in big.text
        assert big.headers["content-security-policy"] == CSP
        # The connection and the session are still good.
        assert http.get("/ui/", follow_redirects=False).status_code == 200


def test_head_as_get_stops_an_endless_stream() -> None:
    seen: list[str] = []

    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"data\n", "more_body": True})
            await anyio.sleep(0)

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "HEAD", "path": "/", "headers": []}
    anyio.run(HeadAsGet(endless), scope, receive, send)
    assert seen == ["GET"]
    assert sent == [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]


def _big_form(size: int) -> dict[str, str]:
    return {"csrf": "x", "reason": "r" * size}


def _is_console_413(answer: Any) -> None:
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "The form was too large" in answer.text
    assert f"at most {LIMIT} bytes" in answer.text
    assert 'href="/ui/static/console.css"' in answer.text  # the page's links are the console's
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


def test_a_console_form_over_the_limit_gets_an_html_413(
    make_client: ClientMaker, admin: Headers
) -> None:
    client: TestClient = make_client(max_body_bytes=LIMIT)
    csrf = sign_in(client, bearer(admin))
    # Declared by Content-Length.
    declared = client.post("/ui/logout", data=_big_form(LIMIT), follow_redirects=False)
    _is_console_413(declared)
    # Sent chunked, without a Content-Length: refused as it outgrows the limit.
    body = f"csrf={csrf}&reason={'r' * LIMIT}".encode()

    def chunks() -> Iterator[bytes]:
        yield from (body[i : i + 1000] for i in range(0, len(body), 1000))

    streamed = client.post(
        "/ui/logout",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    _is_console_413(streamed)
    # htmx gets the same page (console.js says "The request failed (413)").
    htmx = client.post(
        "/ui/logout",
        data=_big_form(LIMIT),
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
        follow_redirects=False,
    )
    _is_console_413(htmx)
    # Nothing was done: the session is still there.
    assert client.get("/ui/", follow_redirects=False).status_code == 200


def test_the_api_keeps_its_json_413(make_client: ClientMaker, admin: Headers) -> None:
    client: TestClient = make_client(max_body_bytes=LIMIT)
    answer = client.put(
        "/v1/envs/default/entries/global_setting/motd",
        json={"value": "x" * LIMIT},
        headers=admin,
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == 413
    assert problem["detail"] == f"the request body is over {LIMIT} bytes"
    assert "content-security-policy" not in answer.headers
