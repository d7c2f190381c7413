"""``conduit-config serve`` as a real uvicorn subprocess: the first admin token, the entry
API over keep-alive HTTP, the change stream resumed across a restart, and SIGTERM."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli import conftest as cli_conftest
from tests.cli.conftest import Runner
from tests.conftest import TEST_SECRET_KEY
from tests.infrastructure.http.server_support import Server, free_port, sse_blocks

Serve = Callable[..., Server]
Change = tuple[str, str, str, int, int]  # environment, area, key, version, position
CLEAN_EXIT = {0, -signal.SIGTERM}  # uvicorn re-raises the signal after a graceful shutdown
ENTRY = "/v1/envs/{}/entries/{}/{}"
PROBLEM = "application/problem+json"
cli = cli_conftest.cli  # the CLI fixture, on the same schema and home as the servers


@pytest.fixture
def serve(database_url: str, schema: str, tmp_path: Path) -> Iterator[Serve]:
    """``serve()`` starts a server on this test's schema (the same env as the ``cli``
    fixture) and waits for /healthz; every server started is stopped at teardown."""
    env = {
        "CONDUIT_CONFIG_DATABASE_URL": database_url,
        "CONDUIT_CONFIG_DATABASE_SCHEMA": schema,
        "CONDUIT_CONFIG_SECRET_KEY": TEST_SECRET_KEY,
        "CONDUIT_CONFIG_ACTOR": "tester",
        "CONDUIT_CONFIG_HOME": str(tmp_path / "home"),
    }
    started: list[Server] = []

    def start(port: int | None = None) -> Server:
        server = Server(env, tmp_path / f"serve-{len(started)}.log", port or free_port())
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()
        assert all(s.proc.poll() is not None for s in started)


def client(server: Server, token: str | None) -> httpx.Client:
    """A keep-alive client; a stream read waits 10 s at most (keep-alives come every 15 s)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(10)
    return httpx.Client(base_url=server.url, headers=headers, timeout=timeout, trust_env=False)


def write(http: httpx.Client, env: str, area: str, key: str, value: dict[str, Any]) -> Change:
    response = http.put(ENTRY.format(env, area, key), json=value)
    assert response.status_code in {200, 201}, response.text
    body = response.json()
    assert response.headers["X-Config-Position"] == str(body["position"])
    return env, area, key, body["version"], body["position"]


def cli_write(cli: Runner, env: str, area: str, key: str, value: dict[str, Any]) -> Change:
    done = cli("--json", "--env", env, "set", f"{area}/{key}", json.dumps(value))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    return env, area, key, body["version"], body["position"]


def changes_until(blocks: Iterator[dict[str, str]], position: int) -> list[Change]:
    """Read change events until one at ``position`` or later has arrived."""
    got: list[Change] = []
    while not got or got[-1][4] < position:
        block = next(blocks)
        assert block["event"] == "change", block
        data = json.loads(block["data"])
        assert int(block["id"]) == data["position"]
        assert {"event", "actor", "recorded_at"} <= data.keys()
        got.append(
            (data["environment"], data["area"], data["key"], data["version"], int(block["id"]))
        )
    return got


def increasing(changes: list[Change]) -> bool:
    positions = [c[4] for c in changes]
    return positions == sorted(set(positions))


def test_first_serve_writes_an_admin_token_to_a_private_file(serve: Serve, tmp_path: Path) -> None:
    first = serve()
    token = first.token
    assert token is not None and token.startswith("cct_admin.")
    saved = tmp_path / "home" / "admin-token"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert first.output.count("admin token") == 1 and str(saved) in first.output
    assert "cct_" not in first.output + first.stdout  # stderr is often a log file
    with client(first, token) as http:
        assert http.get("/v1/areas").status_code == 200
    assert first.terminate() in CLEAN_EXIT

    second = serve()
    assert second.token is None and "cct_" not in second.output + second.stdout
    with client(second, token) as http:
        areas = http.get("/v1/areas")
        assert areas.status_code == 200
        assert {"router", "feature_flag"} <= {a["area"] for a in areas.json()["items"]}
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (wrong, "cct_nobody.x", None):
        with client(second, bad) as http:
            denied = http.get("/v1/areas")
        assert denied.status_code == 401, bad
        assert denied.headers["content-type"].startswith(PROBLEM)
        assert denied.headers["www-authenticate"] == "Bearer"
        assert denied.json()["status"] == 401 and token not in denied.text


def test_entry_walk_through_over_keep_alive_http(serve: Serve) -> None:
    server = serve()
    url = ENTRY.format("default", "feature_flag", "beta")
    with client(server, server.token) as http:
        ports: set[int] = set()

        def call(method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
            response = http.request(method, path, **kwargs)
            assert response.status_code == status, response.text
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
            return response

        created = call("PUT", url, 201, json={"enabled": True, "rollout_percent": 10})
        assert created.headers["ETag"] == '"1"'
        assert created.json()["version"] == 1 and created.json()["changed"] is True
        got = call("GET", url, 200)
        assert got.headers["ETag"] == '"1"'
        assert got.headers["X-Config-Position"] == created.headers["X-Config-Position"]
        assert got.json()["value"]["rollout_percent"] == 10
        replaced = call("PUT", url, 200, json={"enabled": False}, headers={"If-Match": '"1"'})
        assert replaced.headers["ETag"] == '"2"'

        head = call("GET", "/readyz", 200).json()["head"]
        stale = call("PATCH", url, 412, json={"rollout_percent": 50}, headers={"If-Match": '"1"'})
        assert stale.headers["content-type"].startswith(PROBLEM)
        assert stale.json()["status"] == 412
        assert call("GET", url, 200).headers["ETag"] == '"2"'  # nothing appended
        assert call("GET", "/readyz", 200).json()["head"] == head

        history = call("GET", url + "/history", 200).json()["items"]
        assert [h["version"] for h in history] == [1, 2]
        assert all(h["actor"] == "admin" and h["source"] == "api" for h in history)
        back = call(
            "POST", url + "/rollback", 200, json={"to_version": 1}, headers={"If-Match": '"2"'}
        )
        assert back.headers["ETag"] == '"3"'
        assert call("GET", url, 200).json()["value"] == got.json()["value"]
        history = call("GET", url + "/history", 200).json()["items"]
        assert [h["version"] for h in history] == [1, 2, 3]
        assert history[-1]["target_version"] == 1

        ready = call("GET", "/readyz", 200).json()
        assert ready["status"] == "ready" and ready["head"] >= back.json()["position"]
        assert ready["lag"] and all(isinstance(n, int) and n >= 0 for n in ready["lag"].values())
    assert len(ports) == 1, f"keep-alive: every request on one connection, got {ports}"


def test_change_stream_resumes_across_a_restart(serve: Serve, cli: Runner) -> None:
    first = serve()
    token = first.token
    with client(first, token) as http, http.stream("GET", "/v1/changes") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        blocks = sse_blocks(stream)
        assert next(blocks) == {"retry": "1000"}
        before = [
            write(http, "default", "feature_flag", "alpha", {"enabled": True}),
            write(http, "staging", "feature_flag", "alpha", {"rollout_percent": 5}),
            write(http, "default", "router", "default", {"max_retries": 4}),
            write(http, "default", "feature_flag", "alpha", {"enabled": False}),
        ]
        seen = changes_until(blocks, before[-1][4])
    assert seen[0][:3] == ("_system", "access_token", "admin")  # the first serve's token
    assert seen[1:] == before and increasing(seen)
    last_id = seen[-1][4]
    assert first.terminate() in CLEAN_EXIT

    while_down = [
        cli_write(cli, "staging", "router", "default", {"max_retries": 2}),
        cli_write(cli, "default", "feature_flag", "alpha", {"enabled": True}),
        cli_write(cli, "staging", "feature_flag", "beta", {"enabled": True}),
        cli_write(cli, "default", "router", "default", {"max_retries": 5}),
    ]
    assert [c[3] for c in while_down] == [1, 3, 1, 2]

    second = serve(port=first.port)
    assert second.token is None
    with client(second, token) as http:
        # Every filter below matches the last write, so each stream can stop at it.
        after = [*while_down, write(http, "staging", "router", "default", {"max_retries": 7})]
        for query, keep in (
            ({}, lambda c: True),
            ({"env": "staging"}, lambda c: c[0] == "staging"),
            ({"area": "router"}, lambda c: c[1] == "router"),
            ({"env": "staging", "area": "router"}, lambda c: c[:2] == ("staging", "router")),
            ({"env": "staging", "after": str(last_id)}, lambda c: c[0] == "staging"),
        ):
            resume = {} if "after" in query else {"Last-Event-ID": str(last_id)}
            with http.stream("GET", "/v1/changes", params=query, headers=resume) as stream:
                blocks = sse_blocks(stream)
                assert next(blocks) == {"retry": "1000"}
                got = changes_until(blocks, after[-1][4])
            assert got == [c for c in after if keep(c)], query
            assert increasing(got)
        bad = http.get("/v1/changes", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 400 and bad.headers["content-type"].startswith(PROBLEM)


def test_sigterm_exits_cleanly(serve: Serve) -> None:
    server = serve()
    with client(server, server.token) as http:  # leaves an idle keep-alive connection
        assert http.get("/v1/areas").status_code == 200
        assert http.put(ENTRY.format("default", "router", "default"), json={}).status_code == 201
        started = time.monotonic()
        code = server.terminate(timeout=10)
        elapsed = time.monotonic() - started
    assert code in CLEAN_EXIT, (code, server.output)
    assert elapsed < 5, elapsed
    assert "Traceback" not in server.output and "ERROR" not in server.output
    assert "Application shutdown complete" in server.output


def test_sigterm_exits_with_an_open_change_stream(serve: Serve) -> None:
    server = serve()
    with client(server, server.token) as http, http.stream("GET", "/v1/changes") as stream:
        blocks = sse_blocks(stream)  # referenced: dropping it would close the stream
        assert next(blocks) == {"retry": "1000"}
        started = time.monotonic()
        code = server.terminate(timeout=15)  # serve's --shutdown-timeout is 5 s
        assert code in CLEAN_EXIT, (code, server.output)
        assert time.monotonic() - started < 10
