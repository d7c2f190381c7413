"""Fixtures of the cluster tests: the Redis server, a client, a prefix and a mirror per test."""

from tests.infrastructure.cluster.redis_support import (
    mirror,
    redis_conn,
    redis_prefix,
    redis_url,
)

__all__ = ["mirror", "redis_conn", "redis_prefix", "redis_url"]
