"""Pieces of the HTTP fuzz tests: hostile parameter text, raw requests, the checks every
answer must pass, and a request helper for the endless change stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from domain.areas.base import AreaModel
from domain.errors import InvalidValueError
from domain.values import normalize
from infrastructure.store import ConfigStore
from tests.fuzz.oracle import NotStrictJsonError, remark, shown, strict_loads
from tests.fuzz.strategies import BIG_INTS, odd_text

PROBLEM = "application/problem+json"
MAX_BODY = 1_048_576  # the app's default body limit
UNICODE_DIGITS = (
    "\u00b2",
    "\u00b9",
    "\u0663",
    "\u06f3",
    "\u0967",
    "\uff11",
    "\U0001d7d8",
    "\u2464",
)
NUMBER_EDGES = (
    "0", "00", "-0", "-1", "+1", "1_000", " 1", "1 ", "1\t", "0x1f", "1e3", "1.0", "1.5",
    "NaN", "inf", "Infinity", "", " ", "9" * 19, "9" * 20, "9" * 400, "9" * 5000,
)  # fmt: skip
TIME_EDGES = (
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01",
    "9999-12-31",
    "2024-02-30T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-12-31T23:59:60Z",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00",
    "2024-01-01 00:00:00+00:00",
    "20240101T000000Z",
    "2024-W01-1",
    "now",
    "yesterday",
)
_OFFSETS = [timezone(timedelta(minutes=m)) for m in (-1439, -840, -1, 0, 1, 330, 840, 1439)]


def number_text() -> st.SearchStrategy[str]:
    """Text a strict parser must take as a whole number, or refuse: big, signed, padded,
    with Unicode digits that ``str.isdigit`` accepts."""
    plain = st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.sampled_from(BIG_INTS[:-1]).map(str),
        st.sampled_from(NUMBER_EDGES),
    )
    with_odd_digit = st.builds(
        lambda digits, odd, at: digits[:at] + odd + digits[at:],
        st.integers(0, 10**6).map(str),
        st.sampled_from(UNICODE_DIGITS),
        st.integers(0, 7),
    )
    return st.one_of(plain, with_odd_digit, st.sampled_from(UNICODE_DIGITS))


def time_text() -> st.SearchStrategy[str]:
    """ISO-8601-ish text: any time with any offset (year 1 to 9999), edge cases, and
    valid times with one character replaced by a Unicode digit."""
    any_time = st.datetimes(timezones=st.sampled_from([None, UTC, *_OFFSETS])).map(
        datetime.isoformat
    )
    spoiled = st.builds(
        lambda text, odd, at: text[:at] + odd + text[at + 1 :],
        any_time,
        st.sampled_from(UNICODE_DIGITS),
        st.integers(0, 25),
    )
    return st.one_of(any_time, st.sampled_from(TIME_EDGES), spoiled)


# Seeds: one of each kind of text that broke a parser before (drawn often, so that even
# the small CI budget tries most of them on every parameter).
CORPUS = (
    *UNICODE_DIGITS,
    "1\u00b2",
    "\u0663\u0663",
    str(2**63),
    str(2**64),
    "9" * 30,
    "9" * 5000,
    "-1",
    "0",
    "",
    "*",
    "seeded",
    "now",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "\ud800",
    "\x00",
)


def param_text() -> st.SearchStrategy[str]:
    """Any hostile text for a query parameter, header or path segment."""
    return st.one_of(st.sampled_from(CORPUS), number_text(), time_text(), odd_text())


def query(**params: str) -> str:
    """A query string with every byte of each value percent-encoded (lone surrogates as
    the invalid UTF-8 a client could send)."""
    return "&".join(
        f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in params.items()
    )


def segment(text: str) -> str:
    """A path segment: every byte percent-encoded."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def header_value(text: str) -> bytes:
    """``text`` as header bytes a server could receive (no CR, LF, NUL or other
    controls, which HTTP/1.1 servers refuse before an app sees them)."""
    raw = text.encode("utf-8", "surrogatepass")
    return bytes(b for b in raw if (b >= 0x20 and b != 0x7F) or b == 0x09)


@dataclass
class Checker:
    """The checks every answer passes: no 5xx, problem+json for errors, and a 4xx that
    appended nothing to the log."""

    client: TestClient
    store: ConfigStore
    headers: dict[str, str]

    def head(self) -> int:
        return self.store.index.head()

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request and check its answer against the log head before it."""
        before = self.head()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        answered(response)
        if response.status_code >= 400:
            appended = f"{method} {shown(url, 200)}: a {response.status_code} appended to the log"
            assert self.head() == before, appended
        return response

    def environment_reads(self, env: str) -> None:
        """Every whole-environment read still answers after a write was accepted."""
        for url in (f"/v1/envs/{env}", f"/v1/envs/{env}/state", f"/v1/envs/{env}/entries"):
            response = self.client.get(url, headers=self.headers)
            assert response.status_code == 200, (url, response.status_code, response.text[:300])


def answered(response: httpx.Response) -> None:
    """No 5xx, no trace; an error is problem+json stating its status."""
    request = response.request
    sent = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    what = f"{request.method} {shown(str(request.url), 300)} {shown(sent, 300)}"
    what += f" body={shown(request.content, 300)} -> {response.status_code}"
    what += f" {shown(response.text, 300)}"
    remark(what)
    assert response.status_code < 500, what
    assert "Traceback" not in response.text, what
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, what
        assert response.json()["status"] == response.status_code, what


def transport_refusal(body: bytes) -> tuple[int, ...] | None:
    """The statuses a body must get before any handler sees it: 413 over the size limit,
    400 when it is not strict JSON (422 too for no body at all); ``None`` otherwise."""
    if len(body) > MAX_BODY:
        return (413,)
    if not body:
        return (400, 422)  # no body at all: malformed, or a missing required body
    try:
        strict_loads(body)
    except NotStrictJsonError:
        return (400,)
    return None


def expected_put(model: type[AreaModel], key: str, body: bytes) -> tuple[int, ...] | dict[str, Any]:
    """What a PUT of ``body`` must answer: a tuple of allowed error statuses, or the
    normalised value the domain accepts (which HTTP may still refuse with 422, e.g. a
    secret too long once encrypted, but never store differently)."""
    refusal = transport_refusal(body)
    if refusal is not None:
        return refusal
    value = strict_loads(body)
    if not isinstance(value, dict):
        return (422,)
    try:
        return normalize(model, value, key=key)
    except InvalidValueError:
        return (422,)


async def _first_answer(
    app: Any, scope: dict[str, Any], limit: float
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Status, headers and body of ``app``'s answer; a 200 stream is cut after its
    headers (the change stream never ends)."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []
    done = anyio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            if message["status"] == 200:
                done.set()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(app, scope, receive, send)
        with anyio.fail_after(limit):
            await done.wait()
        group.cancel_scope.cancel()
    return start["status"], dict(start.get("headers", [])), b"".join(chunks)


def stream_answer(
    client: TestClient, path: str, query_string: str, headers: dict[str, bytes], limit: float = 15
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Call a streaming endpoint in the client's event loop; see :func:`_first_answer`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            *[(k.lower().encode(), v) for k, v in headers.items()],
        ],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
        "state": dict(client.app_state),
    }
    call: Callable[..., Any] = _first_answer
    result: tuple[int, dict[bytes, bytes], bytes] = client.portal.call(
        call, client.app, scope, limit
    )
    return result
