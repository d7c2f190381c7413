"""The store service: commands and queries over the event log."""

from infrastructure.store.service import ConfigStore
from infrastructure.store.views import EntryView, HistoryItem, WriteResult

__all__ = ["ConfigStore", "EntryView", "HistoryItem", "WriteResult"]
