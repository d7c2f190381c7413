"""The one LISTEN loop's contract (``infrastructure/persistence/listener.py``), on the
real database: it wakes its owner once on connecting, on each NOTIFY and after each poll
interval without one; it returns once stopped; ``listen`` raises when its connection is
terminated, ``follow`` reports the failure and listens again."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from infrastructure.persistence.listener import Listener, StalledError

APP = "conduit-test-listener"
WAIT = 10.0  # seconds a test waits for something that takes milliseconds


class Owner:
    """Counts wakes and records what ``follow`` tells it; ``fail`` makes wakes raise."""

    def __init__(self) -> None:
        self.wakes = 0
        self.errors: list[BaseException | None] = []
        self.reports: list[tuple[BaseException, float]] = []
        self.fail: list[BaseException] = []
        self._changed = threading.Condition()

    def wake(self) -> None:
        with self._changed:
            self.wakes += 1
            self._changed.notify_all()
        if self.fail:
            raise self.fail.pop(0)

    def on_error(self, exc: BaseException | None) -> None:
        with self._changed:
            self.errors.append(exc)
            self._changed.notify_all()

    def report(self, exc: BaseException, delay: float) -> None:
        self.reports.append((exc, delay))

    def until(self, check: Callable[[Owner], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: check(self), timeout=WAIT), vars(self)


@pytest.fixture
def channel() -> str:
    return f"cc_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def admin(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def listener(database_url: str, channel: str, poll: float | None = None) -> Listener:
    url = make_conninfo(database_url, application_name=APP)
    return Listener(
        url=url, channel=channel, connect_timeout=5, wake_seconds=0.02, poll_seconds=poll
    )


@contextmanager
def running(body: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """``body(stop)`` in a thread; on leaving, stop it and check that it returned."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            body(stop)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(WAIT)
    assert not thread.is_alive(), "it did not return once stopped"
    assert not failures, failures


def listening(admin: psycopg.Connection[Any], channel: str) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query LIKE %s",
        (APP, f"%LISTEN%{channel}%"),
    ).fetchone()
    return row is not None and row[0] == 1


def terminate(admin: psycopg.Connection[Any]) -> int:
    row = admin.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = %s AND pid <> pg_backend_pid()",
        (APP,),
    ).fetchone()
    return int(row[0]) if row else 0


def test_wakes_on_connecting_and_on_each_notify(
    database_url: str, channel: str, admin: psycopg.Connection[Any]
) -> None:
    owner = Owner()
    with running(lambda stop: listener(database_url, channel).listen(stop, owner.wake)):
        owner.until(lambda o: o.wakes == 1)
        admin.execute("SELECT pg_notify(%s, 'x')", (channel,))
        owner.until(lambda o: o.wakes == 2)
        admin.execute("SELECT pg_notify(%s, 'x')", (channel,))
        owner.until(lambda o: o.wakes == 3)
    assert owner.wakes == 3


def test_wakes_after_each_poll_interval_without_a_notify(database_url: str, channel: str) -> None:
    owner = Owner()
    with running(lambda stop: listener(database_url, channel, poll=0.02).listen(stop, owner.wake)):
        owner.until(lambda o: o.wakes >= 4)


def test_returns_once_stopped(database_url: str, channel: str) -> None:
    owner = Owner()
    with running(
        lambda stop: listener(database_url, channel, poll=0.02).listen(stop, owner.wake)
    ) as stop:
        owner.until(lambda o: o.wakes >= 2)
        stop.set()
    # running() checked that listen() returned: no wake can follow.


def test_listen_raises_when_its_backend_is_terminated(
    database_url: str, channel: str, admin: psycopg.Connection[Any]
) -> None:
    owner = Owner()
    raised: list[BaseException] = []

    def body(stop: threading.Event) -> None:
        try:
            listener(database_url, channel).listen(stop, owner.wake)
        except psycopg.OperationalError as exc:
            raised.append(exc)

    with running(body):
        owner.until(lambda o: o.wakes == 1)
        assert terminate(admin) == 1
        owner.until(lambda _: bool(raised))


def test_follow_reconnects_after_its_backend_is_terminated(
    database_url: str, channel: str, admin: psycopg.Connection[Any]
) -> None:
    owner = Owner()

    def body(stop: threading.Event) -> None:
        listener(database_url, channel).follow(
            stop, owner.wake, on_error=owner.on_error, report=owner.report
        )

    with running(body):
        owner.until(lambda o: o.errors == [None])
        assert terminate(admin) == 1
        owner.until(lambda o: len(o.errors) == 3)  # connected, lost, connected again
        admin.execute("SELECT pg_notify(%s, 'x')", (channel,))
        owner.until(lambda o: o.wakes == 3)  # connect, reconnect, the NOTIFY
    assert owner.errors[0] is None and owner.errors[2] is None
    assert isinstance(owner.errors[1], psycopg.OperationalError)
    assert [exc for exc, _ in owner.reports] == [owner.errors[1]]
    assert 0.1 <= owner.reports[0][1] <= 0.2  # the first wait of RECONNECT_BACKOFF


def test_follow_tells_but_does_not_report_a_stall(database_url: str, channel: str) -> None:
    owner = Owner()
    stalled = StalledError("mirror ahead")
    owner.fail = [stalled]

    def body(stop: threading.Event) -> None:
        listener(database_url, channel).follow(
            stop, owner.wake, on_error=owner.on_error, report=owner.report
        )

    with running(body):
        owner.until(lambda o: o.errors == [stalled])
    assert owner.reports == []
