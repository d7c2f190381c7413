"""The database behind a gate the test controls, under a real ``serve``: during an
outage (cut, reset, a vanished host, a slow link) every request answers 503 within the
bound of the settings, ``/healthz`` answers at once and ``/readyz`` within a second,
SIGTERM exits in time, and the server recovers without a restart once the gate opens.

The bounds are the documented ones (README, "During a database outage") plus generous
margins: this machine may be busy.
"""

from __future__ import annotations

import signal
import threading
import time

import httpx

from tests.infrastructure.faults.conftest import Serve
from tests.infrastructure.faults.support import Answer, client, flood, summary, timed
from tests.infrastructure.http.server_support import Server
from tests.network import Gate, eventually

ENTRY = "/v1/envs/default/entries/router/default"
DATABASE_TIMEOUT = 5.0  # CONDUIT_CONFIG_DATABASE_TIMEOUT_SECONDS by default
MARGIN = 3.0
HEALTHZ_SECONDS = 1.0
READYZ_SECONDS = 1.0 + 0.5  # the check gives up at 0.8 s
RECOVERY_SECONDS = 15.0
FLOOD = 40
CLEAN_EXIT = {0, -signal.SIGTERM}


def written(server: Server) -> str:
    """The server's admin token, after one write through it."""
    token = server.token
    assert token is not None, server.output
    headers = {"Authorization": f"Bearer {token}"}
    put = httpx.put(
        server.url + ENTRY, json={"max_retries": 3}, headers=headers, timeout=30, trust_env=False
    )
    assert put.status_code == 201, put.text
    return token


def assert_bounded(answers: list[Answer], bound: float) -> None:
    assert len(answers) == FLOOD
    late = [a for a in answers if a.seconds > bound]
    assert not late, f"over {bound} s: {summary(late)}"
    wrong = [a for a in answers if not a.unavailable]
    assert not wrong, f"not a 503 problem with Retry-After: {wrong[:2]}"
    assert all("database unavailable" in a.body for a in answers), answers[0].body


def assert_probes(healthz: list[Answer], readyz: list[Answer]) -> None:
    assert all(a.status == 200 and a.seconds < HEALTHZ_SECONDS for a in healthz), summary(healthz)
    assert all(a.unavailable and a.seconds < READYZ_SECONDS for a in readyz), summary(readyz)


def assert_recovers(server: Server, token: str) -> float:
    """Seconds until a read and /readyz succeed again."""
    started = time.monotonic()
    eventually(
        lambda: timed(server.url + ENTRY, token=token).status == 200,
        timeout=RECOVERY_SECONDS,
        what="a read after the database came back",
    )
    eventually(
        lambda: timed(server.url + "/readyz").status == 200,
        timeout=RECOVERY_SECONDS,
        what="/readyz after the database came back",
    )
    return time.monotonic() - started


def test_cut_database_every_request_answers_at_once_and_the_server_recovers(
    serve: Serve, gate: Gate
) -> None:
    server = serve()
    token = written(server)
    gate.cut()
    with flood(server.url + ENTRY, token=token, count=FLOOD) as running:
        answers = running.probe_until_done(server.url)
    assert_bounded(answers, DATABASE_TIMEOUT + MARGIN)
    assert_probes(running.healthz, running.readyz)

    gate.open()
    assert_recovers(server, token)
    assert timed(server.url + ENTRY, token=token).body.count('"max_retries":3') == 1
    assert server.proc.poll() is None


def test_vanished_host_answers_within_the_database_timeout_and_sigterm_exits_in_time(
    serve: Serve, gate: Gate
) -> None:
    server = serve("--shutdown-timeout", "2")
    token = written(server)
    gate.blackhole()  # connecting now hangs until the connect timeout (10 s)
    with flood(server.url + ENTRY, token=token, count=FLOOD) as running:
        answers = running.probe_until_done(server.url)
    assert_bounded(answers, DATABASE_TIMEOUT + MARGIN)
    assert_probes(running.healthz, running.readyz)

    with flood(server.url + ENTRY, token=token, count=FLOOD) as pending:
        time.sleep(0.5)  # the requests are in, the database still unreachable
        started = time.monotonic()
        code = server.terminate(timeout=30)
        elapsed = time.monotonic() - started
        answered = [f.result() for f in pending.requests]
    # --shutdown-timeout, then at most 3 s for the threads, the pool and the exit.
    assert code in CLEAN_EXIT and elapsed < 2 + 3 + MARGIN, (code, elapsed, server.output)
    assert all(a.status in {503, None} for a in answered), summary(answered)
    assert "Traceback" not in server.output


def test_reset_and_slow_links_answer_within_the_bound(serve: Serve, gate: Gate) -> None:
    timeout = 2.0
    server = serve(CONDUIT_CONFIG_DATABASE_TIMEOUT_SECONDS=str(timeout))
    token = written(server)

    gate.slow(0.1)  # every round trip takes 0.2 s more: slower, still answering
    with flood(server.url + ENTRY, token=token, count=10) as running:
        answers = running.probe_until_done(server.url, at_least=1)
    assert all(a.status in {200, 503} and a.seconds < timeout + MARGIN for a in answers), summary(
        answers
    )
    assert all(a.status == 200 and a.seconds < HEALTHZ_SECONDS for a in running.healthz)

    gate.reset()
    with flood(server.url + ENTRY, token=token, count=FLOOD) as running:
        answers = running.probe_until_done(server.url)
    assert_bounded(answers, timeout + MARGIN)
    assert_probes(running.healthz, running.readyz)

    gate.open()
    assert_recovers(server, token)


def test_sigterm_with_a_healthy_database_still_unregisters(serve: Serve) -> None:
    server = serve("--shutdown-timeout", "1")
    token = written(server)
    stop = threading.Event()
    answers: list[Answer] = []

    def reads() -> None:
        with client(timeout=10) as http:
            while not stop.is_set():
                answers.append(timed(server.url + ENTRY, token=token, http=http))

    reader = threading.Thread(target=reads)
    reader.start()
    time.sleep(0.3)
    started = time.monotonic()
    code = server.terminate(timeout=30)
    elapsed = time.monotonic() - started
    stop.set()
    reader.join()
    assert code in CLEAN_EXIT and elapsed < 1 + MARGIN, (code, elapsed)
    assert answers and answers[0].status == 200
    assert "Application shutdown complete" in server.output
    assert "did not stop" not in server.output and "exiting now" not in server.output
