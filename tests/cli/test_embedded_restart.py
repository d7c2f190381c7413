"""``serve`` on the embedded PostgreSQL restarts it when it dies (kill -9 of the
postmaster) and recovers without a restart of its own; a server started by a short CLI
command meanwhile outlives that command only while ``serve`` uses it, and ``serve``
stopping stops whichever server runs then."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil

from tests.cli.conftest import embedded_servers, run_embedded
from tests.infrastructure.faults.support import timed
from tests.infrastructure.http.server_support import Server, free_port
from tests.network import eventually

ENTRY = "/v1/envs/default/entries/router/default"
RECOVERY_SECONDS = 20.0  # the supervisor looks every second; a restart takes ~1-3 s
CLEAN_EXIT = {0, -signal.SIGTERM}


def postmaster(pgdata: Path) -> int:
    """The pid in the server's lock file."""
    return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_serve_restarts_its_killed_embedded_server_and_leaves_none(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pgdata = home / "pgdata"
    server = Server(
        {"CONDUIT_CONFIG_HOME": str(home)},
        tmp_path / "serve.log",
        free_port(),
        ("--log-level", "warning"),
    )
    try:
        server.wait_ready()
        token = server.token
        assert token is not None, server.output
        auth = {"Authorization": f"Bearer {token}"}
        put = httpx.put(server.url + ENTRY, json={"max_retries": 3}, headers=auth, trust_env=False)
        assert put.status_code == 201, put.text

        first = postmaster(pgdata)
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        eventually(
            lambda: timed(server.url + ENTRY, token=token).status == 200,
            timeout=RECOVERY_SECONDS,
            what="a read after the embedded server was killed",
        )
        recovered = time.monotonic() - killed
        second = postmaster(pgdata)
        assert second != first and running(second), (first, second)
        # The read may be answered (from the server's read cache, or by the new postmaster)
        # before the restart that started it returns and says so.
        eventually(lambda: "died: restarted it" in server.output, what="the restart's log line")
        assert recovered < RECOVERY_SECONDS

        # A short command joins the running server and leaves it to serve.
        assert run_embedded(home, "get", "router").returncode == 0
        assert running(second)

        # Killed again, with a short command racing serve to start it: whoever does,
        # the server is serve's to stop once the command is done.
        os.kill(second, signal.SIGKILL)
        done = run_embedded(home, "--json", "get", "router")
        assert done.returncode == 0, done.stderr
        eventually(
            lambda: timed(server.url + ENTRY, token=token).status == 200,
            timeout=RECOVERY_SECONDS,
            what="a read after the second kill",
        )
        third = postmaster(pgdata)
        assert running(third) and third not in {first, second}
    finally:
        code = server.terminate(timeout=30)
    assert code in CLEAN_EXIT, (code, server.output)
    eventually(lambda: not embedded_servers(pgdata), timeout=10, what="no server left behind")
    assert not running(third)
