"""Test helpers for outages: a TCP gate in front of a server, and waiting for a condition."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")
_NO_LINGER = struct.pack("ii", 1, 0)


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
    an outage of the server, which keeps its data. The other faults last until
    :meth:`open`: :meth:`reset` resets every connection (TCP RST), :meth:`blackhole`
    drops the open connections and holds new ones unanswered (a host that vanished:
    connecting times out), and :meth:`slow` delays every chunk it forwards.
    """

    def __init__(self, target_host: str, target_port: int, *, opened: bool = False) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        if opened:
            self._open.set()
        self._stop = threading.Event()
        self._mode = "open" if opened else "shut"
        self._delay = 0.0
        self._sockets: list[socket.socket] = []
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def open(self) -> None:
        """Start (or resume) forwarding, at full speed; connections held by
        :meth:`blackhole` are dropped (their clients connect again)."""
        self._delay = 0.0
        self._mode = "open"
        self._drop_held()
        self._open.set()

    def cut(self) -> None:
        """Drop every connection; refuse new ones until :meth:`open`."""
        self._open.clear()
        self._mode = "shut"
        self._drop(self._take_sockets(), reset=False)
        self._drop_held()

    def reset(self) -> None:
        """Reset every connection (TCP RST) and every new one until :meth:`open`."""
        self._open.clear()
        self._mode = "reset"
        self._drop(self._take_sockets(), reset=True)

    def blackhole(self) -> None:
        """Drop every connection and hold new ones unanswered until :meth:`open`."""
        self._open.clear()
        self._mode = "blackhole"
        self._drop(self._take_sockets(), reset=False)

    def slow(self, seconds: float) -> None:
        """Delay every chunk forwarded (both ways) by ``seconds``, until :meth:`open`."""
        self._delay = seconds

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._stop.set()
        self._listener.close()
        self.cut()

    def _take_sockets(self) -> list[socket.socket]:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        return sockets

    def _drop_held(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        self._drop(held, reset=False)

    @staticmethod
    def _drop(sockets: list[socket.socket], *, reset: bool) -> None:
        """Close with FIN, or with RST; a socket a pipe reads is only woken here (its
        pipe closes it: a socket closed while another thread reads it stays open)."""
        for sock in sockets:
            with contextlib.suppress(OSError):
                if reset:  # a zero linger time makes close send RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _NO_LINGER)
                    sock.shutdown(socket.SHUT_RD)
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            mode = self._mode
            if mode == "blackhole":
                with self._lock:
                    self._held.append(conn)
                continue
            try:
                if not self._open.is_set():
                    raise ConnectionRefusedError
                upstream = self._upstream()
            except OSError:
                self._drop([conn], reset=mode == "reset")
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

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._delay:
                    time.sleep(self._delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    if self._mode == "reset":
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _NO_LINGER)
                        sock.close()
                    else:
                        sock.shutdown(socket.SHUT_RDWR)
