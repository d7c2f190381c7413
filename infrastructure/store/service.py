"""``ConfigStore``: the one object the CLI, HTTP API and clients talk to."""

from __future__ import annotations

from typing import Any

from domain.secrets import redact, reveal
from infrastructure.store.bulk import StoreBulk
from infrastructure.store.commands import StoreCommands
from infrastructure.store.keys import StoreKeys
from infrastructure.store.queries import StoreQueries
from infrastructure.store.readmodels import StoreReadModels
from infrastructure.store.schedule import StoreSchedule
from infrastructure.store.verify import StoreVerifier


class ConfigStore(
    StoreSchedule,
    StoreCommands,
    StoreQueries,
    StoreReadModels,
    StoreVerifier,
    StoreKeys,
    StoreBulk,
):
    """Commands and queries over the configuration event log.

    Values in results keep secrets sealed; pass them through :meth:`redacted`
    or :meth:`revealed` before showing them.
    """

    def redacted(self, value: Any) -> Any:
        """Secrets replaced by ``********``."""
        return redact(value)

    def revealed(self, value: Any) -> Any:
        """Secrets decrypted; raises :class:`SecretKeyError` without a usable key."""
        return reveal(value, self.codec)

    def close(self) -> None:
        """Release the database pool."""
        self.app.close()
