"""Map database failures into the store's error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
)

from infrastructure.errors import StorageError
from infrastructure.persistence.outage import DatabaseUnavailableError


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn eventsourcing's and psycopg's errors into :class:`StorageError` (the driver
    detail is noise). ``IntegrityError`` passes through: writers treat it as a race."""
    try:
        yield
    except IntegrityError:
        raise
    except DatabaseUnavailableError as exc:
        raise StorageError(f"database unavailable: {exc}") from None
    except (OperationalError, InterfaceError, psycopg.OperationalError) as exc:
        raise StorageError(f"database unavailable: {first_line(exc)}") from None
    except (PersistenceError, psycopg.Error) as exc:
        raise StorageError(f"database error: {first_line(exc)}") from None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
