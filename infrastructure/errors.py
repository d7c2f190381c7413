"""Errors only infrastructure raises: the database, the audit key, credentials.

They belong to the one error tree rooted at :class:`~domain.errors.ConfigStoreError`, so
the CLI's exit codes and the HTTP problem mapping treat them like the domain's errors.
"""

from __future__ import annotations

from domain.errors import ConfigStoreError, SettingsError


class AuditKeyError(SettingsError):
    """The log is chained with an audit key this process does not hold
    (``CONDUIT_CONFIG_AUDIT_KEY`` unset or another key); nothing was appended."""


class StorageError(ConfigStoreError):
    """The database failed or is unreachable."""


class AuthenticationError(ConfigStoreError):
    """No credentials, or credentials that are unknown, revoked or expired."""
