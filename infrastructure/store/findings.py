"""A problem found in the stored history, as ``verify`` and the integrity checks name it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One problem: the entry (``env:area/key``), the version and log position it is
    at (when known), and what is wrong (never a value)."""

    entry: str
    version: int | None
    problem: str
    position: int | None = None

    def to_json(self) -> dict[str, object]:
        """``{entry, version, position, problem}``."""
        return {
            "entry": self.entry,
            "version": self.version,
            "position": self.position,
            "problem": self.problem,
        }
