"""The embedded default: a private PostgreSQL (pgserver) under ``CONDUIT_CONFIG_HOME``.

Every process using it registers its pid in the data directory; the last one to close
stops the server (whoever started it), so a run of CLI commands leaves no server behind.
While a process uses it, a supervisor thread restarts the server if it dies (e.g. its
postmaster is killed), so a long-running ``serve`` recovers on its own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

from infrastructure.errors import StorageError

_log = logging.getLogger(__name__)
_PIDS_FILE = ".handle_pids.json"
#: How often a process using the server checks that its postmaster still runs.
SUPERVISE_SECONDS = 1.0
#: How long a restart waits for the dead server's other processes to exit.
ORPHANS_SECONDS = 10.0
_started: list[EmbeddedPostgres] = []


def _pgserver() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Imported late: pgserver warns at import time and most commands never need it.
        import pgserver.postgres_server  # noqa: PLC0415

        return pgserver.postgres_server


def _alive(pid: int) -> bool:
    """Whether PostgreSQL runs as ``pid`` (a killed postmaster nobody reaped is a
    zombie: dead)."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "postgres"
    except psutil.Error:
        return False


def _prune_dead_handles(pgdata: Path) -> None:
    # pgserver only stops the server when its pid list is empty; a process killed with
    # -9 would otherwise keep the server alive forever.
    path = pgdata / _PIDS_FILE
    if not path.exists():
        return
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL in ``home/pgdata``.

    ``start`` returns a connection URL; raises :class:`StorageError` if it cannot start.
    """

    def __init__(self, *, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self.pgdata = self.home / "pgdata"
        self._server: Any = None
        self._url = ""
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        # pgserver's lock is between processes; this one is between our threads.
        self._lock = threading.Lock()

    def start(self) -> str:
        """Start (or join) the server, supervise it, and return its URL."""
        self.home.mkdir(parents=True, exist_ok=True)
        module = _pgserver()
        try:
            with module.PostgresServer._lock:
                _prune_dead_handles(self.pgdata)
                self._forget_dead_postmaster()
            self._server = module.get_server(self.pgdata, cleanup_mode="stop")
        except Exception as exc:  # pgserver raises plain assertions and subprocess errors
            raise StorageError(
                f"cannot start the embedded PostgreSQL in {self.pgdata}: {exc} "
                f"(see {self.pgdata / 'log'})"
            ) from None
        self._url = self._server.get_uri()
        _started.append(self)
        self._supervisor = threading.Thread(
            target=self._supervise, name="embedded-postgres", daemon=True
        )
        self._supervisor.start()
        _log.debug("embedded PostgreSQL at %s", self._url)
        return self._url

    def alive(self) -> bool:
        """Whether the server's postmaster runs."""
        info = _pgserver().PostmasterInfo.read_from_pgdata(self.pgdata)
        return info is not None and _alive(info.pid)

    def revive(self) -> bool:
        """Start the server again if its postmaster died; ``True`` if this call did.
        Raises what pgserver raises when it cannot."""
        module = _pgserver()
        with self._lock, module.PostgresServer._lock:
            if self._server is None:  # stopped meanwhile
                return False
            info = module.PostmasterInfo.read_from_pgdata(self.pgdata)
            if info is not None and _alive(info.pid):
                self._server._postmaster_info = info  # another process restarted it
                return False
            self._forget_dead_postmaster()
            self._server.ensure_postgres_running()
        url = self._server.get_uri()
        if url != self._url:  # the pool keeps the old address: say why it cannot connect
            _log.error("the embedded PostgreSQL came back at %s, not %s", url, self._url)
        return True

    def stop(self) -> None:
        """Stop supervising and release this process's handle; the last handle stops the
        server, whichever process started it."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=1)
        module = _pgserver()
        with self._lock, module.PostgresServer._lock:
            if self._server is None:
                return
            server, self._server = self._server, None
            if self in _started:
                _started.remove(self)
            _prune_dead_handles(self.pgdata)
            info = module.PostmasterInfo.read_from_pgdata(self.pgdata)
            # The server running now (perhaps restarted by another process), or none:
            # pgserver would wait a minute for a dead one to stop.
            server._postmaster_info = info if info is not None and _alive(info.pid) else None
        server.cleanup()

    def _supervise(self) -> None:
        while not self._stop.wait(SUPERVISE_SECONDS):
            if self.alive():
                continue
            try:
                if self.revive():
                    _log.warning("the embedded PostgreSQL in %s died: restarted it", self.pgdata)
            except Exception as exc:  # tried again in a second
                _log.warning("restarting the embedded PostgreSQL in %s: %s", self.pgdata, exc)

    def _forget_dead_postmaster(self) -> None:
        """Remove the lock files (data directory and socket) of a postmaster that died,
        once its other processes are gone: PostgreSQL refuses to start while the pid in
        them exists, which a zombie's does. Call with pgserver's lock held."""
        lock_file = self.pgdata / "postmaster.pid"
        try:
            lines = lock_file.read_text().split("\n")
        except OSError:
            return
        pid = _lock_pid(lock_file)
        if pid is None or _alive(pid):
            return
        self._wait_for_orphans()
        if len(lines) > 4 and lines[3].strip().isdigit() and lines[4].strip():
            socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
            if _lock_pid(socket_lock) == pid:
                socket_lock.unlink(missing_ok=True)
        lock_file.unlink(missing_ok=True)

    def _wait_for_orphans(self) -> None:
        """Wait until the dead postmaster's other processes (they run in its data
        directory) have exited: a new server must not start beside them."""
        deadline = time.monotonic() + ORPHANS_SECONDS
        while _orphans(self.pgdata) and time.monotonic() < deadline:
            time.sleep(0.1)


def _lock_pid(path: Path) -> int | None:
    """The pid a PostgreSQL lock file names (its first line)."""
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _orphans(pgdata: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == "postgres" and _alive(proc.pid) and proc.cwd() == str(pgdata):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def stop_started() -> None:
    """Release every server this process started or joined (for an exit that skips the
    usual cleanup)."""
    for embedded in list(_started):
        try:
            embedded.stop()
        except Exception as exc:  # exiting anyway: say what is left behind
            _log.error("stopping the embedded PostgreSQL in %s: %s", embedded.pgdata, exc)
