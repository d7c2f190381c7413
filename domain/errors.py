"""The single error tree of Conduit Config, rooted at :class:`ConfigStoreError`.

Domain errors live here; the errors only infrastructure raises (the database, the audit
key, credentials) subclass the same root in :mod:`infrastructure.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConfigStoreError(Exception):
    """Base of every error the store raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field: a dotted path (``keys.0.api_key``) and a message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidValueError(ConfigStoreError):
    """A value (or command argument) breaks its area's rules; nothing was written."""

    def __init__(self, errors: list[FieldError], *, area: str | None = None) -> None:
        self.errors = list(errors)
        self.area = area
        prefix = f"invalid {area} value" if area else "invalid value"
        super().__init__(f"{prefix}: " + "; ".join(str(e) for e in self.errors))

    @classmethod
    def single(cls, field: str, message: str, *, area: str | None = None) -> InvalidValueError:
        """Build an error about one field."""
        return cls([FieldError(field, message)], area=area)


class VersionConflictError(ConfigStoreError):
    """The expected version is stale (or another writer won the race)."""

    def __init__(
        self, address: str, *, expected: int | None, current: int | None, detail: str = ""
    ) -> None:
        self.address = address
        self.expected = expected
        self.current = current
        super().__init__(
            detail
            or f"version conflict on {address}: expected version {expected}, "
            f"current version is {current}"
        )


class NotFoundError(ConfigStoreError):
    """An entry, version, area or point in time does not exist."""


class AreaNotFoundError(NotFoundError):
    """No area of that name is registered."""


class EntryStateError(ConfigStoreError):
    """The command does not fit the entry's state (e.g. undelete of a live entry)."""


class SecretKeyError(ConfigStoreError):
    """A secret must be encrypted or revealed but no usable key is configured."""


class SettingsError(ConfigStoreError):
    """A setting (environment variable or option) has a bad value."""


class IntegrityViolationError(ConfigStoreError):
    """Stored history does not replay to the values its events claim (tampering)."""


class PermissionDeniedError(ConfigStoreError):
    """The caller is known but its role or scope does not allow the request."""


class BrokenLogError(IntegrityViolationError):
    """The log of one entry is damaged (a version missing, an event that does not decode
    or disagrees with the event index): no read or write serves it until ``repair``."""

    def __init__(self, entry: str, position: int | None, problem: str = "") -> None:
        self.entry = entry
        self.position = position
        self.problem = problem
        where = f" at position {position}" if position is not None else ""
        why = f": {problem}" if problem else ""
        super().__init__(
            f"the log of {entry} is broken{where}{why}; "
            "run `conduit-config verify` to see the damage and `conduit-config repair` to mend it"
        )
