"""The embedded default: a private PostgreSQL (pgserver) under ``CONDUIT_CONFIG_HOME``.

Every process using it registers its pid in the data directory; the last one to close
stops the server, so a run of CLI commands leaves no server behind.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import psutil

from domain.errors import StorageError

_log = logging.getLogger(__name__)
_PIDS_FILE = ".handle_pids.json"


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

    def start(self) -> str:
        """Start (or join) the server and return its URL."""
        self.home.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Imported late: pgserver warns at import time and most commands never need it.
            import pgserver  # noqa: PLC0415
            from pgserver.postgres_server import PostgresServer  # noqa: PLC0415

            try:
                with PostgresServer._lock:
                    _prune_dead_handles(self.pgdata)
                self._server = pgserver.get_server(  # type: ignore[attr-defined]
                    self.pgdata, cleanup_mode="stop"
                )
            except Exception as exc:  # pgserver raises plain assertions and subprocess errors
                raise StorageError(
                    f"cannot start the embedded PostgreSQL in {self.pgdata}: {exc} "
                    f"(see {self.pgdata / 'log'})"
                ) from None
        url: str = self._server.get_uri()
        _log.debug("embedded PostgreSQL at %s", url)
        return url

    def stop(self) -> None:
        """Release this process's handle; the last handle stops the server."""
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()
