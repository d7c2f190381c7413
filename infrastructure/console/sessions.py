"""Server-side sessions of the operator console (table ``cc_console_sessions``).

The browser holds a random cookie value; the table keeps only its SHA-256, the name and
hash of the API token the session was opened with (never the token), a CSRF secret and
the session's times. A session ends on sign-out, when its browser signs in again, after
``idle`` without a request, at ``lifetime`` after sign-in, and as soon as its token no
longer authenticates.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed

from infrastructure.errors import StorageError
from infrastructure.persistence.errors import first_line, storage_errors
from infrastructure.persistence.tables import fetch_all, table
from infrastructure.settings import DEFAULTS

SESSIONS_TABLE = "cc_console_sessions"
#: A session unused for this long ends (``CONDUIT_CONFIG_CONSOLE_IDLE_MINUTES``).
DEFAULT_IDLE = timedelta(minutes=DEFAULTS.console_idle_minutes)
#: A session ends this long after sign-in, used or not
#: (``CONDUIT_CONFIG_CONSOLE_LIFETIME_HOURS``).
DEFAULT_LIFETIME = timedelta(hours=DEFAULTS.console_lifetime_hours)


@dataclass(frozen=True)
class Session:
    """One live session as read back from its cookie."""

    id: str
    token_name: str
    token_hash: str
    csrf: str


@dataclass(frozen=True)
class Opened:
    """A session just created: ``cookie`` goes to the browser and nowhere else."""

    cookie: str
    session: Session


def session_id(cookie: str) -> str:
    """The row id of a cookie value: its SHA-256, so a read of the table opens nothing."""
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).hexdigest()


class ConsoleSessions:
    """Creates, finds and ends console sessions in one schema; every method raises
    :class:`StorageError` when the database cannot be used."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        idle: timedelta = DEFAULT_IDLE,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self._datastore = datastore
        self._table = table(datastore, SESSIONS_TABLE)
        self.idle = idle
        self.lifetime = lifetime

    def open(self, token_name: str, token_hash: str) -> Opened:
        """A new session for the token ``token_name`` (with SHA-256 ``token_hash``); sessions
        past their time are swept on the way."""
        cookie = secrets.token_urlsafe(32)
        session = Session(session_id(cookie), token_name, token_hash, secrets.token_urlsafe(32))
        self._run(
            SQL("DELETE FROM {} WHERE expires_at <= now() OR last_seen <= now() - %s").format(
                self._table
            ),
            (self.idle,),
        )
        self._run(
            SQL(
                "INSERT INTO {} (id, token_name, token_hash, csrf, expires_at)"
                " VALUES (%s, %s, %s, %s, now() + %s)"
                # Run again after a lost connection, the first may have committed.
                " ON CONFLICT (id) DO NOTHING"
            ).format(self._table),
            (session.id, token_name, token_hash, session.csrf, self.lifetime),
        )
        return Opened(cookie, session)

    def find(self, cookie: str) -> Session | None:
        """The live session of a cookie value, marked as used now; ``None`` when there is
        none (never was, signed out, idle too long or past its lifetime)."""
        rows = self._run(
            SQL(
                "UPDATE {} SET last_seen = now()"
                " WHERE id = %s AND expires_at > now() AND last_seen > now() - %s"
                " RETURNING id, token_name, token_hash, csrf"
            ).format(self._table),
            (session_id(cookie), self.idle),
        )
        return Session(*rows[0]) if rows else None

    def peek(self, cookie: str) -> Session | None:
        """Like :meth:`find`, without marking the session used: an open live stream
        re-checks its session with it, and must not keep an abandoned tab's session
        alive past its idle time."""
        rows = self._run(
            SQL(
                "SELECT id, token_name, token_hash, csrf FROM {}"
                " WHERE id = %s AND expires_at > now() AND last_seen > now() - %s"
            ).format(self._table),
            (session_id(cookie), self.idle),
        )
        return Session(*rows[0]) if rows else None

    def end(self, session: Session) -> None:
        """End one session (sign-out)."""
        self._run(SQL("DELETE FROM {} WHERE id = %s").format(self._table), (session.id,))

    def end_cookie(self, cookie: str) -> bool:
        """End the session of a cookie value, live or not (a browser signing in again);
        returns whether there was one."""
        statement = SQL("DELETE FROM {} WHERE id = %s RETURNING id").format(self._table)
        return bool(self._run(statement, (session_id(cookie),)))

    def end_token(self, token_name: str) -> int:
        """End every session of the token ``token_name`` (it was revoked or expired);
        returns how many ended."""
        statement = SQL("DELETE FROM {} WHERE token_name = %s RETURNING id")
        return len(self._run(statement.format(self._table), (token_name,)))

    def _run(self, statement: Composed, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        # Every page starts here: fetch_all runs a statement again after a lost
        # connection, so a restarted database does not turn the next pages into 503s
        # (each statement here may run twice: they are idempotent or keyed by a new id).
        try:
            with storage_errors():
                return fetch_all(self._datastore, statement, params, row_factory=tuple_row)
        except (PersistenceError, psycopg.Error) as exc:
            raise StorageError(f"console sessions: {first_line(exc)}") from None
