"""``ConfigStore``: the one object the CLI, HTTP API and clients talk to."""

from __future__ import annotations

from typing import Any

from domain.secret_views import Schema, redact, redact_ops, reveal
from infrastructure.store.bulk import StoreBulk
from infrastructure.store.commands import StoreCommands
from infrastructure.store.keys import StoreKeys
from infrastructure.store.queries import StoreQueries
from infrastructure.store.readmodels import StoreReadModels
from infrastructure.store.schedule_run import StoreScheduleRunner
from infrastructure.store.verify import StoreVerifier


class ConfigStore(
    StoreScheduleRunner,
    StoreCommands,
    StoreQueries,
    StoreReadModels,
    StoreVerifier,
    StoreKeys,
    StoreBulk,
):
    """Commands and queries over the configuration event log.

    Values in results keep secrets sealed; pass them through :meth:`redacted`
    or :meth:`revealed` before showing them. What is secret is decided by the area's
    schema (its ``SecretStr`` fields), never by what a value's text looks like.
    """

    def secret_schema(self, environment: str, area: str) -> Schema:
        """The schema deciding which fields of the area's values are secret (``None``:
        unknown, then anything that looks sealed counts as a secret)."""
        return self.serving.schema(environment, area)

    def redacted(self, value: Any, environment: str, area: str) -> Any:
        """A stored value of ``area`` with its secret fields replaced by ``********``."""
        return redact(value, self.secret_schema(environment, area))

    def redacted_ops(self, ops: list[Any], environment: str, area: str) -> list[Any]:
        """RFC 6902 operations on a value of ``area`` with the secrets they set redacted."""
        return redact_ops(ops, self.secret_schema(environment, area))

    def revealed(self, value: Any, environment: str, area: str) -> Any:
        """A stored value of ``area`` with its sealed secret fields decrypted (other
        fields as they are, whatever their text); raises :class:`SecretKeyError` when a
        secret does not open with this store's key."""
        return reveal(value, self.secret_schema(environment, area), self.codec)

    def close(self) -> None:
        """Release the database pool."""
        self.app.close()
