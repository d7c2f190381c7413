"""The store's record of the secret keys it has seen, and the codec that consults it.

A process seals new secrets only with a key the store knows (``cc_secret_keys``): a
wrong ``CONDUIT_CONFIG_SECRET_KEY`` is refused before it seals anything, instead of
leaving values that no other process can open. A new key is recorded when it is the
first one of a store without secrets, when it opens a secret the store already holds
(a store from before key ids were recorded), or when the operator says it is new
(``CONDUIT_CONFIG_NEW_SECRET_KEY=true`` or ``conduit-config rekey --new-key``):
recording a new key retires the others (they still open, but no longer seal).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed

from domain.areas.base import AreaModel
from domain.errors import ConfigStoreError, SecretKeyError
from domain.secrets import (
    REDACTED,
    SecretCodec,
    get_path,
    sealing_paths,
)
from infrastructure.crypto import AesGcmCodec
from infrastructure.persistence.errors import storage_errors
from infrastructure.persistence.recorder import EVENTS_TABLE
from infrastructure.persistence.tables import table

KEYS_TABLE = "cc_secret_keys"
#: How long a check that the current key is known (and not retired) is trusted.
RECHECK_SECONDS = 5.0
#: Sealed values tried when a store from before key ids meets its first key.
SAMPLE_ROWS = 50
_SEALED_TEXT = re.compile(rb'"(enc:v[12]:[A-Za-z0-9_:=-]{1,8000})"')
_REKEY_HINT = (
    "if you are rotating, set CONDUIT_CONFIG_NEW_SECRET_KEY=true"
    " (or run `conduit-config rekey --new-key`); otherwise the key is wrong"
)


@dataclass(frozen=True)
class KeyRecord:
    """One key id the store has seen."""

    key_id: str
    first_seen: datetime
    recorded_by: str
    retired_at: datetime | None


class KnownKeys:
    """Reads and writes ``cc_secret_keys``. Raises :class:`StorageError`."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self._table = table(datastore, KEYS_TABLE)
        self._events = table(datastore, EVENTS_TABLE)

    def records(self) -> list[KeyRecord]:
        """Every recorded key, oldest first."""
        with storage_errors(), self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select())
            return [_record(row) for row in curs.fetchall()]

    def _select(self) -> Composed:
        return SQL(
            "SELECT key_id, first_seen, recorded_by, retired_at FROM {} ORDER BY first_seen, key_id"
        ).format(self._table)

    def decide(self, keyring: AesGcmCodec, *, new_key: bool, recorded_by: str) -> None:
        """Record the current key when the rules allow it, else raise
        :class:`SecretKeyError` saying why this process may not seal."""
        with storage_errors(), self.datastore.get_connection() as conn, conn.transaction():
            # One decision at a time: two first keys of an empty store cannot both win.
            conn.execute(SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(self._table))
            rows = [_record(r) for r in conn.execute(self._select()).fetchall()]
            mine = next((r for r in rows if r.key_id == keyring.current_id), None)
            if mine is not None and mine.retired_at is None:
                return
            if not new_key:
                _refuse(keyring, rows, mine, self._sample(conn))
            conn.execute(
                SQL(
                    "INSERT INTO {} (key_id, recorded_by) VALUES (%s, %s)"
                    " ON CONFLICT (key_id) DO UPDATE SET retired_at = NULL"
                ).format(self._table),
                (keyring.current_id, recorded_by[:200]),
            )
            conn.execute(
                SQL(
                    "UPDATE {} SET retired_at = now() WHERE key_id <> %s AND retired_at IS NULL"
                ).format(self._table),
                (keyring.current_id,),
            )

    def _sample(self, conn: Any) -> list[str]:
        """Sealed texts of the latest events that hold any (possibly none)."""
        rows = conn.execute(
            SQL(
                "SELECT state FROM {} WHERE position(convert_to('\"enc:v', 'UTF8') IN state) > 0"
                " ORDER BY notification_id DESC LIMIT %s"
            ).format(self._events),
            (SAMPLE_ROWS,),
        ).fetchall()
        found: list[str] = []
        for row in rows:
            state = row["state"] if isinstance(row, dict) else row[0]
            found.extend(m.decode() for m in _SEALED_TEXT.findall(bytes(state)))
        return found


def _record(row: Any) -> KeyRecord:
    if isinstance(row, dict):
        return KeyRecord(row["key_id"], row["first_seen"], row["recorded_by"], row["retired_at"])
    return KeyRecord(*row)


def _refuse(
    keyring: AesGcmCodec, rows: list[KeyRecord], mine: KeyRecord | None, sample: list[str]
) -> None:
    """Return when a store that has recorded no key meets a key it can use; else raise."""
    kid = keyring.current_id
    if mine is not None:
        active = [r.key_id for r in rows if r.retired_at is None]
        raise SecretKeyError(
            f"this process's secret key (id {kid}) was retired from this store"
            f" (current: {', '.join(active) or 'none'}): use the current key and keep"
            f" {kid} in CONDUIT_CONFIG_RETIRED_SECRET_KEYS; to make it current again, set"
            " CONDUIT_CONFIG_NEW_SECRET_KEY=true"
        )
    if rows:
        known = ", ".join(r.key_id for r in rows)
        raise SecretKeyError(
            f"this process's secret key (id {kid}) is new to this store (known: {known}):"
            f" {_REKEY_HINT}"
        )
    if sample and not any(keyring.opens_with_current(text) for text in sample):
        raise SecretKeyError(
            f"this process's secret key (id {kid}) opens none of the secrets this store"
            f" already holds: {_REKEY_HINT}"
        )


class GuardedKeyring:
    """A :class:`~domain.secrets.SecretCodec` that opens with the keyring and seals only
    when the store knows the current key (checked at most every ``RECHECK_SECONDS``).

    ``seal`` raises :class:`SecretKeyError` (see :class:`KnownKeys`) or
    :class:`StorageError`; ``open`` raises :class:`SecretKeyError`."""

    def __init__(
        self, keyring: AesGcmCodec, *, known: KnownKeys, new_key: bool, recorded_by: str
    ) -> None:
        self.keyring = keyring
        self.known = known
        self.new_key = new_key
        self.recorded_by = recorded_by
        #: Why this process may not seal (set by the last refused check).
        self.refusal: SecretKeyError | None = None
        self._checked_at: float | None = None
        # Whether the store has accepted this key once: the setting then has done its
        # work, and a later retirement is another key's doing, not to be undone.
        self._accepted = False
        self._lock = threading.Lock()

    @property
    def current_id(self) -> str:
        """The current key's id."""
        return self.keyring.current_id

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of the ring, current first."""
        return self.keyring.ids

    def key_id_of(self, sealed: str) -> str | None:
        """The key id a sealed value names (``None`` for ``enc:v1``)."""
        return self.keyring.key_id_of(sealed)

    def open(self, sealed: str) -> str:
        """The plaintext; raises :class:`SecretKeyError`."""
        return self.keyring.open(sealed)

    def seal(self, plaintext: str) -> str:
        """Seal with the current key once the store is known to accept it."""
        self.require_known()
        return self.keyring.seal(plaintext)

    def require_known(self, *, new_key: bool = False, fresh: bool = False) -> None:
        """Raise :class:`SecretKeyError` unless this process may seal (recording its key
        when the rules allow, or when ``new_key``/the setting says it is new). ``fresh``
        asks the store even when a recent check said yes."""
        with self._lock:
            now = time.monotonic()
            recent = self._checked_at and now - self._checked_at < RECHECK_SECONDS
            if recent and not (new_key or fresh):
                return
            claim = new_key or (self.new_key and not self._accepted)
            try:
                self.known.decide(self.keyring, new_key=claim, recorded_by=self.recorded_by)
            except SecretKeyError as exc:
                refusal = self._explained(exc)
                self.refusal, self._checked_at = refusal, None
                raise refusal from None
            self.refusal, self._checked_at, self._accepted = None, now, True

    def _explained(self, exc: SecretKeyError) -> SecretKeyError:
        """``exc``, saying so when the setting made this key current and another process
        has made its own current since: two processes both say they hold the new key."""
        if not (self.new_key and self._accepted):
            return exc
        return SecretKeyError(
            f"{exc}. This process made its key current with CONDUIT_CONFIG_NEW_SECRET_KEY=true"
            " and another process has since recorded its own key as new: two processes with"
            " different keys both have that setting, so it is not taken again; give every"
            " process the store's current key and remove the setting (run `conduit-config"
            " rekey --new-key` from the one whose key should win)"
        )


def require_key_for_keeps(
    codec: SecretCodec | None, instance: AreaModel, sparse: dict[str, Any]
) -> None:
    """A write that keeps a stored secret (``********``) is refused, like one that seals,
    by a process whose key the store does not know: what it writes next would mix keys."""
    if isinstance(codec, GuardedKeyring) and any(
        get_path(sparse, path) == REDACTED for path in sealing_paths(instance, sparse)
    ):
        codec.require_known()


def refused_sealing(codec: SecretCodec | None) -> ConfigStoreError | None:
    """Why the last seal was refused, when it was (documents report refused secrets as
    field errors; the key problem is the one to show)."""
    return codec.refusal if isinstance(codec, GuardedKeyring) else None
