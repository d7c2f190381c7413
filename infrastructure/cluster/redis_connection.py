"""Redis connections of the mirror: a fail-fast client from a URL, and redis-py's errors
mapped into the store's error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from domain.errors import SettingsError
from infrastructure.errors import StorageError
from infrastructure.persistence.errors import first_line
from infrastructure.settings import DEFAULTS

CONNECT_TIMEOUT = DEFAULTS.connect_timeout


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn redis-py's errors into :class:`StorageError` (one line, no driver traceback)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StorageError(f"Redis unavailable: {first_line(exc)}") from None
    except redis.RedisError as exc:
        raise StorageError(f"Redis error: {first_line(exc)}") from None


def redis_client(url: str, *, timeout: float = CONNECT_TIMEOUT) -> redis.Redis:
    """A client for ``url`` that fails fast (one immediate retry, for a connection Redis
    closed meanwhile): the mirror backs off itself, and redis-py's default retries would
    hold a call for seconds. Connects on first use.

    Raises :class:`SettingsError` naming ``CONDUIT_CONFIG_REDIS_URL`` for a bad URL.
    """
    problem = "needs a socket path" if url.startswith("unix://") and not _path(url) else None
    if problem is None:
        try:
            return redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as exc:
            problem = first_line(exc)
    raise SettingsError(f"invalid settings: CONDUIT_CONFIG_REDIS_URL: {problem}")


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""
