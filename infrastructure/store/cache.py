"""Write-through cache of entries as this process last saved or loaded them.

Commands start from the cached state instead of reading the entry back from the
database. That is safe because the database still decides: an append at a version
another writer already took fails (unique ``(entry, version)``), and the command then
drops the cached state and starts again from the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.address import Address
from domain.entry import ConfigEntry
from domain.values import JsonObject


@dataclass(frozen=True)
class _Cached:
    address: Address
    version: int
    value: JsonObject
    deleted: bool
    modified_on: datetime


class EntryCache:
    """Least-recently-used entry states, at most ``maxsize`` of them (0 disables it)."""

    def __init__(self, *, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, address: Address) -> ConfigEntry | None:
        """A fresh aggregate at the cached state, or ``None``."""
        with self._lock:
            found = self._items.get(address.entry_id)
            if found is None:
                return None
            self._items.move_to_end(address.entry_id)
        return ConfigEntry.resume(
            found.address,
            version=found.version,
            value=found.value,
            deleted=found.deleted,
            modified_on=found.modified_on,
        )

    def put(self, entry: ConfigEntry) -> None:
        """Remember an entry's state (after it was saved or loaded)."""
        if not self.maxsize:
            return
        item = _Cached(entry.address, entry.version, entry.value, entry.deleted, entry.modified_on)
        with self._lock:
            known = self._items.get(entry.id)
            if known is not None and known.version > entry.version:
                return  # a slower reader must not replace a newer write
            self._items[entry.id] = item
            self._items.move_to_end(entry.id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def drop(self, entry_id: UUID) -> None:
        """Forget an entry (its cached state proved stale)."""
        with self._lock:
            self._items.pop(entry_id, None)
