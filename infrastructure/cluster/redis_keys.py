"""The Redis mirror's key and channel names.

Keys: ``{prefix}:{env}:{area}:{key}`` per entry; channel ``{prefix}:{env}:changes`` per
environment. What they hold is the read model's (:mod:`projections.mirror`).
"""

from __future__ import annotations


def key_part(name: str) -> str:
    """An environment, area or key name as written in a Redis key or channel.

    Names may contain ``:``; it is written ``%3A`` so that ``env:area:key`` stays
    unambiguous (``%`` cannot occur in a name, so the escape is reversible).
    """
    return name.replace(":", "%3A")


def entry_key(prefix: str, environment: str, area: str, key: str) -> str:
    """``{prefix}:{env}:{area}:{key}``: the Redis key of one entry."""
    return f"{prefix}:{key_part(environment)}:{key_part(area)}:{key_part(key)}"


def changes_channel(prefix: str, environment: str) -> str:
    """``{prefix}:{env}:changes``: the channel of one environment's changes."""
    return f"{prefix}:{key_part(environment)}:changes"
