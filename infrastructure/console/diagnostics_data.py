"""What the diagnostics page shows that no other page reads: the settings in effect with
every secret masked, and the recent warnings and errors of this process's loggers.

Masking is by construction, not by pattern alone: a ``SecretStr`` setting shows only
whether it is set; a database or Redis URL is rebuilt from its parts without the
password; and every shown text (settings and log messages) is passed through
:func:`mask_text`, which hides anything shaped like an API token (``cct_``) or a sealed
value (``enc:``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from domain.secrets import REDACTED
from infrastructure.settings import ENV_PREFIX, Settings

MASK = REDACTED
_TOKENISH = re.compile(r"(cct_|enc:)[^\s\"'<>,;]*")
_PASSWORD_WORD = re.compile(r"(password\s*=\s*)[^\s&]+", re.IGNORECASE)
#: The loggers whose records the ring keeps (ours; one module logs under its own name).
LOGGERS = ("conduit_config", "infrastructure")
RING_SIZE = 100


def mask_text(text: str) -> str:
    """``text`` with token-like (``cct_…``) and sealed (``enc:…``) runs and any
    ``password=…`` masked."""
    return _PASSWORD_WORD.sub(rf"\g<1>{MASK}", _TOKENISH.sub(rf"\g<1>{MASK}", text))


def database_url_text(url: str) -> str:
    """A PostgreSQL URL or conninfo as ``host:port/dbname as user``: never its password
    (nor any other part but those four)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unreadable)"
    host, port = parts.get("host") or "localhost", parts.get("port") or "5432"
    user = f" as {parts['user']}" if parts.get("user") else ""
    hidden = " (password hidden)" if parts.get("password") else ""
    return mask_text(f"{host}:{port}/{parts.get('dbname') or ''}{user}{hidden}")


def redis_url_text(url: str) -> str:
    """A Redis URL without its user info (password) and query. The user info ends at
    the last ``@``: a password may hold an unescaped ``/`` or ``@``, which a plain URL
    parse would show as the host and path."""
    scheme, _, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    try:
        split = urlsplit(f"{scheme}://{hostpart}")
        host = split.hostname or ""
        port = f":{split.port}" if split.port else ""
    except ValueError:
        return "(unreadable)"
    hidden = " (password hidden)" if at and userinfo else ""
    return mask_text(f"{split.scheme}://{host}{port}{split.path}{hidden}")


@dataclass(frozen=True)
class SettingRow:
    """One setting: its variable, the value shown and whether it was set explicitly."""

    variable: str
    shown: str
    explicit: bool


def _shown(name: str, value: Any) -> str:
    if isinstance(value, SecretStr):
        return f"{MASK} (set)"
    if value is None:
        return "(unset)"
    if name == "database_url":
        return database_url_text(str(value))
    if name == "redis_url":
        return redis_url_text(str(value))
    return mask_text(str(value))


def settings_rows(settings: Settings) -> list[SettingRow]:
    """Every setting by variable name, secrets masked."""
    explicit = settings.model_fields_set
    return [
        SettingRow(
            f"{ENV_PREFIX}{name.upper()}", _shown(name, getattr(settings, name)), name in explicit
        )
        for name in sorted(type(settings).model_fields)
    ]


@dataclass(frozen=True)
class LogLine:
    """One kept record: when, level, logger, and its message (masked)."""

    at: datetime
    level: str
    logger: str
    message: str


class RecentErrors(logging.Handler):
    """A ring of the last :data:`RING_SIZE` WARNING and ERROR records: message text only
    (no traceback, no arguments kept apart), masked with :func:`mask_text`."""

    def __init__(self, size: int = RING_SIZE) -> None:
        super().__init__(level=logging.WARNING)
        self._lines: deque[LogLine] = deque(maxlen=size)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep the template only
            text = str(record.msg)
        at = datetime.fromtimestamp(record.created, UTC)
        line = LogLine(at, record.levelname, record.name, mask_text(text)[:2000])
        with self._guard:
            self._lines.append(line)

    def lines(self) -> list[LogLine]:
        """The kept records, newest first."""
        with self._guard:
            return list(reversed(self._lines))


def install_recent_errors() -> RecentErrors:
    """Attach a new ring to our loggers (``serve`` does, once) and return it."""
    root = logging.getLogger()
    if not root.handlers:
        # Until now our warnings reached stderr through logging's last-resort handler,
        # which stops being used once any handler is attached: keep them on stderr.
        root.addHandler(logging.lastResort or logging.StreamHandler())
    ring = RecentErrors()
    for name in LOGGERS:
        logging.getLogger(name).addHandler(ring)
    return ring
