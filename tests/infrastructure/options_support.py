"""Checks of option dataclasses built from settings."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def fields_differing(one: Any, other: Any) -> list[str]:
    """The names of the dataclass fields whose values differ between ``one`` and ``other``
    (two instances of one dataclass), in declaration order."""
    return [f.name for f in fields(one) if getattr(one, f.name) != getattr(other, f.name)]
