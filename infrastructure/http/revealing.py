"""Serving secrets in plaintext: who may (``Grant.may_reveal``), and the record written
before anything is shown (one statement per request, a 503 and nothing revealed when it
cannot be written)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from fastapi import Request

from domain.access import Grant
from domain.address import Address
from domain.document import EnvDocument
from domain.environment import EntryState
from domain.errors import NotFoundError, SecretKeyError
from domain.stored import StoredValueError
from infrastructure.http.common import store_of
from infrastructure.store import ConfigStore
from infrastructure.store.environment import PointRef
from infrastructure.store.reveals import VIA_ENV, Revealed, Revealer, reveal_log
from infrastructure.store.serving import Served
from projections.audit import AuditRow


def origin_of(request: Request) -> str:
    """Where the request came from: the peer's address (behind a proxy, what the server
    was told to trust, e.g. uvicorn's ``--forwarded-allow-ips``)."""
    client = request.client
    return client.host if client is not None and client.host else "unknown"


def revealer(request: Request, grant: Grant, via: str) -> Revealer:
    """Who is shown secrets by this request, from where, through ``via``."""
    return Revealer(actor=grant.name, role=grant.role.label, origin=origin_of(request), via=via)


def record(store: ConfigStore, who: Revealer, entries: Iterable[Revealed]) -> None:
    """Record the reveals in one statement; :class:`StorageError` (503) when it cannot
    be written, and then the caller shows nothing."""
    reveal_log(store).record(who, entries)


def reveal_value(
    request: Request, grant: Grant, via: str, address: Address, version: int, value: Any
) -> Any:
    """``value`` (a version of ``address``) with its secrets in plaintext, recorded first
    when it has any."""
    store = store_of(request)
    shown = store.revealed(value, address.environment, address.area)
    if shown != value:  # a secret was opened: this is a reveal
        entry = Revealed(address.environment, address.area, address.key, version)
        record(store, revealer(request, grant, via), [entry])
    return shown


def reveal_states(
    request: Request, grant: Grant, via: str, environment: str, entries: Iterable[EntryState]
) -> list[EntryState]:
    """The entries (``stored`` sealed) with their live values' secrets in plaintext; the
    ones that had secrets are recorded in one statement before they are returned."""
    store = store_of(request)
    shown: list[EntryState] = []
    revealed: list[Revealed] = []
    for entry in entries:
        if entry.deleted:
            value = store.redacted(entry.stored, environment, entry.area)
        else:
            value = store.revealed(entry.stored, environment, entry.area)
            if value != entry.stored:
                revealed.append(Revealed(environment, entry.area, entry.key, entry.version))
        shown.append(replace(entry, stored=value))
    record(store, revealer(request, grant, via), revealed)
    return shown


def revealed_export(
    request: Request, grant: Grant, environment: str, point: PointRef | None
) -> EnvDocument:
    """The export document of ``environment`` at ``point`` with the secrets of the areas
    ``grant`` sees in plaintext (other areas left out), recorded first."""
    store = store_of(request)
    view = store.environment_at(environment, point)
    served = store.served(view, live_only=True, sealed=True)
    visible = [e for e in served.entries if grant.sees(environment, e.area)]
    shown = reveal_states(request, grant, VIA_ENV, environment, visible)
    return EnvDocument(
        environment=environment,
        position=view.position,
        recorded_at=view.recorded_at,
        entries=Served(shown).live(),
        problems=served.problems,
    )


def stream_values(
    store: ConfigStore, who: Revealer, rows: Iterable[AuditRow]
) -> dict[int, dict[str, Any]]:
    """What a revealing change stream adds to each change (by position): the entry's
    stored value at that version in plaintext, ``deleted``, or the ``problem`` that keeps
    it from being served. Every value with secrets is recorded (one statement) first."""
    extra: dict[int, dict[str, Any]] = {}
    revealed: list[Revealed] = []
    for row in rows:
        if row.event == "deleted":
            continue
        address = Address(row.environment, row.area, row.key)
        try:
            stored = store.get(address, version=row.version).stored
        except StoredValueError as exc:
            extra[row.position] = {"problem": exc.reason}
            continue
        except NotFoundError:  # a deleted state (e.g. re-established so by repair)
            extra[row.position] = {"deleted": True}
            continue
        try:
            value = store.revealed(stored, row.environment, row.area)
        except SecretKeyError as exc:  # served by no one with this key: the client says so
            extra[row.position] = {"problem": str(exc)}
            continue
        if value != stored:
            revealed.append(Revealed(row.environment, row.area, row.key, row.version))
        extra[row.position] = {"value": value}
    record(store, who, revealed)
    return extra
