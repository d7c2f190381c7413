"""``/ui/live``: the console's change stream over the session cookie, against a real
``serve`` (the stream needs the server's feed). Events carry no value; the stream ends
when the token is revoked; a scoped user gets only its changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.console.conftest import Console, sign_in
from tests.infrastructure.http.server_support import sse_blocks

SECRET = "sk-live-Secret-123"
LIVE_FIELDS = {"position", "environment", "area", "key", "version", "event", "actor", "recorded_at"}


def browser_like(console: Console) -> httpx.Client:
    """A client with no bearer token: only the session cookie it gets by signing in."""
    return httpx.Client(base_url=console.url, timeout=20, trust_env=False)


def put(console: Console, env: str, area: str, key: str, value: dict[str, Any]) -> int:
    """Write through the API as the admin; returns the change's position."""
    with console.api() as api:
        answer = api.put(f"/v1/envs/{env}/entries/{area}/{key}", json=value)
        assert answer.status_code in {200, 201}, answer.text
        position: int = answer.json()["position"]
        return position


def changes(blocks: Iterator[dict[str, str]], until: int) -> list[dict[str, Any]]:
    """Change events up to position ``until``, with their raw blocks checked."""
    got: list[dict[str, Any]] = []
    while not got or got[-1]["position"] < until:
        block = next(blocks)
        assert block["event"] == "change", block
        data = json.loads(block["data"])
        assert int(block["id"]) == data["position"]
        got.append(data)
    return got


def test_a_change_arrives_without_its_value(console: Console) -> None:
    with browser_like(console) as http:
        sign_in(http, console.admin_token)
        assert "Authorization" not in http.headers
        with http.stream("GET", "/ui/live", params={"env": "prod"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-store"
            blocks = sse_blocks(stream)
            assert next(blocks) == {"retry": "1000"}
            provider = {"provider_type": "openai", "keys": [{"name": "main", "api_key": SECRET}]}
            put(console, "staging", "feature_flag", "other", {"enabled": True})
            first = put(console, "prod", "provider", "openai", provider)
            second = put(console, "prod", "feature_flag", "beta", {"enabled": True})
            got = changes(blocks, second)
    assert [(c["environment"], c["area"], c["key"], c["position"]) for c in got] == [
        ("prod", "provider", "openai", first),
        ("prod", "feature_flag", "beta", second),
    ]
    for change in got:
        assert set(change) == LIVE_FIELDS
        assert change["actor"] and change["version"] == 1
        assert SECRET not in json.dumps(change)


def test_every_environment_and_resuming_after_an_id(console: Console) -> None:
    with browser_like(console) as http:
        sign_in(http, console.admin_token)
        with http.stream("GET", "/ui/live", params={"env": "*"}) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            one = put(console, "staging", "feature_flag", "a", {"enabled": True})
            two = put(console, "prod", "feature_flag", "b", {"enabled": True})
            got = changes(blocks, two)
        assert [(c["environment"], c["position"]) for c in got] == [("staging", one), ("prod", two)]
        three = put(console, "prod", "feature_flag", "c", {"enabled": True})
        resume = {"Last-Event-ID": str(one)}
        with http.stream("GET", "/ui/live", params={"env": "*"}, headers=resume) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            again = changes(blocks, three)
        assert [c["position"] for c in again] == [two, three]
        future = http.get("/ui/live?env=prod", headers={"Last-Event-ID": "999999"})
        assert future.status_code == 400
        bad = http.get("/ui/live?env=prod", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 400


def test_the_stream_ends_when_the_token_is_revoked(console: Console) -> None:
    token = console.token("watcher", "reader")
    with browser_like(console) as http:
        sign_in(http, token)
        with http.stream("GET", "/ui/live", params={"env": "prod"}) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            before = put(console, "prod", "feature_flag", "x", {"enabled": True})
            assert [c["position"] for c in changes(blocks, before)] == [before]
            with console.api() as api:
                assert api.delete("/v1/tokens/watcher").status_code == 204
            put(console, "prod", "feature_flag", "x", {"enabled": False})
            # The next batch finds the token revoked: the stream ends with nothing more.
            assert list(blocks) == []
        again = http.get("/ui/live?env=prod", follow_redirects=False)
        assert again.status_code == 303
        assert again.headers["location"].startswith("/ui/login")


def test_signing_out_ends_the_stream(console: Console) -> None:
    with browser_like(console) as http, browser_like(console) as other:
        csrf = sign_in(http, console.admin_token)
        sign_in(other, console.admin_token)
        with other.stream("GET", "/ui/live", params={"env": "*"}) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            # Another session of the same token signing out leaves this one running.
            assert http.post("/ui/logout", data={"csrf": csrf}).status_code in {200, 303}
            seen = put(console, "prod", "feature_flag", "y", {"enabled": True})
            assert [c["position"] for c in changes(blocks, seen)] == [seen]
        # This session signing out ends its own stream at the next batch.
        other_csrf = sign_in(other, console.admin_token)
        with other.stream("GET", "/ui/live", params={"env": "*"}) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            assert other.post("/ui/logout", data={"csrf": other_csrf}).status_code in {200, 303}
            put(console, "prod", "feature_flag", "y", {"enabled": False})
            assert list(blocks) == []


def test_a_scoped_user_gets_only_its_changes(console: Console) -> None:
    token = console.token("router-only", "reader", ["prod:router"])
    with browser_like(console) as http:
        sign_in(http, token)
        assert http.get("/ui/live?env=staging").status_code == 403
        with http.stream("GET", "/ui/live", params={"env": "*"}) as stream:
            blocks = sse_blocks(stream)
            next(blocks)
            put(console, "prod", "feature_flag", "hidden", {"enabled": True})
            put(console, "staging", "router", "default", {"max_retries": 1})
            with console.api() as api:  # a token change (system environment): admins only
                assert api.post("/v1/tokens", json={"name": "n", "role": "reader"}).is_success
            mine = put(console, "prod", "router", "default", {"max_retries": 3})
            got = changes(blocks, mine)
    assert [(c["environment"], c["area"], c["position"]) for c in got] == [("prod", "router", mine)]


def test_live_needs_a_session(console: Console) -> None:
    with browser_like(console) as http:
        answer = http.get("/ui/live?env=prod", follow_redirects=False)
        assert answer.status_code == 303
        with console.api() as api:  # a bearer token is not a console session
            refused = api.get("/ui/live?env=prod", follow_redirects=False)
            assert refused.status_code == 303
