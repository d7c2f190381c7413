"""Test helpers for outages: a TCP gate in front of a server, and waiting for a condition."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Wait until ``check()`` is true and return what it returned; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout}s")
        time.sleep(0.02)
    return found


class Gate:
    """A TCP proxy to a server (PostgreSQL over TCP or its Unix socket, Redis, …).

    While shut, connections are accepted and dropped at once (the server seems down);
    while open they are forwarded. :meth:`cut` shuts it and drops every open connection:
    an outage of the server, which keeps its data.
    """

    def __init__(self, target_host: str, target_port: int, *, opened: bool = False) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        if opened:
            self._open.set()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def open(self) -> None:
        """Start (or resume) forwarding."""
        self._open.set()

    def cut(self) -> None:
        """Drop every connection; refuse new ones until :meth:`open`."""
        self._open.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._stop.set()
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            try:
                if not self._open.is_set():
                    raise ConnectionRefusedError
                upstream = self._upstream()
            except OSError:
                conn.close()
                continue
            with self._lock:
                self._sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _upstream(self) -> socket.socket:
        """A connection to the server: TCP, or its Unix socket when the host is a
        directory (the embedded PostgreSQL)."""
        host, port = self._target
        if not host.startswith("/"):
            return socket.create_connection(self._target)
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.connect(f"{host}/.s.PGSQL.{port}")
        return unix

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
