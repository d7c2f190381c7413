"""The body rules on a real uvicorn server and real sockets: a chunked body over the
limit gets a clean 413 (the client reads it, no reset), a chunked non-JSON body 415,
NaN 400; the connection stays usable afterwards."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from infrastructure.auth import TokenService
from infrastructure.http.app import HttpOptions, create_app
from infrastructure.store import ConfigStore
from tests.infrastructure.http.conftest import Headers
from tests.infrastructure.http.server_support import free_port

FLAG = "/v1/envs/prod/entries/feature_flag/beta"
LIMIT = 1_048_576


@pytest.fixture
def server(store: ConfigStore, tokens: TokenService) -> Iterator[str]:
    """The URL of a uvicorn server (in a thread) over the test store."""
    app = create_app(store=store, tokens=tokens, options=HttpOptions(), follow=False)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(10)


def chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    """``total`` bytes of a JSON string body, in chunks (httpx sends them chunked)."""
    yield b'{"description": "'
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b"x" * piece
        sent += piece
    yield b'"}'


def test_chunked_body_over_the_limit_is_a_clean_413(
    server: str, admin: Headers, store: ConfigStore
) -> None:
    before = store.index.head()
    with httpx.Client(base_url=server, headers=admin, timeout=30, trust_env=False) as http:
        sent = http.put(
            FLAG,
            content=chunks(2 * LIMIT),
            headers={"Content-Type": "application/json"},
        )
        assert sent.request.headers.get("transfer-encoding") == "chunked"
        assert sent.status_code == 413, sent.text
        assert sent.headers["content-type"] == "application/problem+json"
        assert str(LIMIT) in sent.json()["detail"]
        # The same client (kept-alive connection, or a new one) goes on working.
        created = http.put(FLAG, json={"enabled": True})
        assert created.status_code == 201, created.text
    assert store.index.head() == before + 1


def test_declared_body_over_the_limit_is_a_clean_413(server: str, admin: Headers) -> None:
    body = b'{"description": "' + b"x" * (2 * LIMIT) + b'"}'
    with httpx.Client(base_url=server, headers=admin, timeout=30, trust_env=False) as http:
        sent = http.put(FLAG, content=body, headers={"Content-Type": "application/json"})
        assert sent.status_code == 413, sent.text
        assert http.get("/v1/areas").status_code == 200


def test_chunked_text_body_is_415(server: str, admin: Headers, store: ConfigStore) -> None:
    before = store.index.head()
    with httpx.Client(base_url=server, headers=admin, timeout=30, trust_env=False) as http:
        sent = http.put(
            FLAG, content=iter([b'{"enabled": ', b"true}"]), headers={"Content-Type": "text/plain"}
        )
        assert sent.request.headers.get("transfer-encoding") == "chunked"
        assert sent.status_code == 415, sent.text
        nan = http.put(FLAG, content=iter([b'{"rollout_percent": ', b"NaN}"]))
        assert nan.status_code == 400 and "not valid JSON" in nan.text
    assert store.index.head() == before


def raw_exchange(url: str, request: bytes, *, body_chunks: Iterator[bytes] | None = None) -> bytes:
    """Send ``request`` then each of ``body_chunks`` (chunked encoding, when given) on a
    raw socket, and read the response until the server closes or it is complete."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(request)
        try:
            for chunk in body_chunks or ():
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if body_chunks is not None:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer may already be there: read it
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            data = sock.recv(65_536)
            if not data:
                break
            received += data
        return received


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def test_chunked_413_over_a_raw_socket(server: str, admin: Headers) -> None:
    request = (
        b"PUT " + FLAG.encode() + b" HTTP/1.1\r\nHost: test\r\n"
        b"Authorization: " + admin["Authorization"].encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_exchange(server, request, body_chunks=chunks(2 * LIMIT))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["status"] == 413


@pytest.mark.parametrize("name", [b"X-Change-Reason", b"X-Request-ID"])
def test_header_text_that_is_not_utf8_is_400(
    server: str, admin: Headers, store: ConfigStore, name: bytes
) -> None:
    before = store.index.head()
    body = b'{"enabled": true}'
    request = (
        b"PUT " + FLAG.encode() + b" HTTP/1.1\r\nHost: test\r\n"
        b"Authorization: "
        + admin["Authorization"].encode()
        + b"\r\n"
        + name
        + b": \xff\xfe\xed\xa0\x80\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    answer = raw_exchange(server, request)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert name in answer.partition(b"\r\n\r\n")[2]
    assert store.index.head() == before
