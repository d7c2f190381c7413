"""Damage made with SQL against a test schema's real tables (events, index, current)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Composed, Identifier

from domain.address import Address


class Tables:
    """SQL against one test schema's tables."""

    def __init__(self, db: psycopg.Connection[Any], schema: str) -> None:
        self.db = db
        self.schema = schema

    def t(self, name: str) -> Composed:
        return SQL("{}.{}").format(Identifier(self.schema), Identifier(name))

    def position(self, address: Address, version: int) -> int:
        row = self.db.execute(
            SQL(
                "SELECT notification_id FROM {} WHERE originator_id = %s"
                " AND originator_version = %s"
            ).format(self.t("conduitconfig_events")),
            (address.entry_id, version),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def delete_event(self, address: Address, version: int) -> int:
        position = self.position(address, version)
        self.db.execute(
            SQL("DELETE FROM {} WHERE notification_id = %s").format(self.t("conduitconfig_events")),
            (position,),
        )
        return position

    def set_state(self, address: Address, version: int, state: bytes) -> int:
        position = self.position(address, version)
        self.db.execute(
            SQL("UPDATE {} SET state = %s WHERE notification_id = %s").format(
                self.t("conduitconfig_events")
            ),
            (state, position),
        )
        return position

    def update(self, table: str, where: str, params: tuple[Any, ...], **values: Any) -> None:
        """``UPDATE table SET col = value, ... WHERE where`` (column names are ours)."""
        sets = SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in values)
        self.db.execute(
            SQL("UPDATE {} SET {} WHERE " + where).format(self.t(table), sets),
            (*values.values(), *params),
        )

    def update_index(self, address: Address, at: int, **values: Any) -> int:
        """Change the index row of version ``at``; its position."""
        position = self.position(address, at)
        self.update("cc_event_index", "position = %s", (position,), **values)
        return position

    def update_current(self, address: Address, **values: Any) -> None:
        """Change the entry's row of the current read model."""
        self.update("cc_current", "entry_id = %s", (address.entry_id,), **values)
