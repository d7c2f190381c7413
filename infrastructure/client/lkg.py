"""The last-known-good copy: the followed environment's state at a log position, kept
on local disk so a service can start while the store is unreachable.

Written atomically (a temporary file of its own, fsync, rename; mode 0600) with a
SHA-256 of its body; secrets stay sealed as in the log. A copy whose checksum does not
match, or that is not a copy of the environment asked for, is refused.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import orjson

from domain.environment import EnvState
from domain.errors import ConfigStoreError
from infrastructure.projection.tolerant import state_from_items, state_items

FORMAT = 1


class CorruptCopyError(ConfigStoreError):
    """The last-known-good file is damaged or not ours."""


class LastKnownGood:
    """Save and load the copy at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, environment: str, position: int, state: EnvState) -> None:
        """Replace the copy atomically. Raises ``OSError``."""
        # An entry whose value cannot be encoded is written marked broken (never served).
        entries, _ = state_items(state.values())
        body = orjson.dumps(
            {
                "format": FORMAT,
                "environment": environment,
                "position": position,
                "entries": entries,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        digest = hashlib.sha256(body).hexdigest().encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file of its own (mode 0600): several clients of one environment
        # (the processes of a service) share the path and may save at the same time.
        handle, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(digest + b"\n" + body)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def load(self, environment: str) -> tuple[int, EnvState] | None:
        """The saved position and state, or ``None`` when there is no copy.

        Raises :class:`CorruptCopyError` when the file is damaged or is another
        environment's.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CorruptCopyError(f"cannot read {self.path}: {exc.strerror}") from None
        digest, _, body = raw.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode() != digest:
            raise CorruptCopyError(f"{self.path} is corrupted (checksum mismatch); refusing it")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise CorruptCopyError(f"{self.path} is not a last-known-good copy") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CorruptCopyError(f"{self.path} is not a last-known-good copy")
        if data.get("environment") != environment:
            raise CorruptCopyError(f"{self.path} is not a copy of environment {environment!r}")
        try:
            return int(data["position"]), state_from_items(data["entries"])
        except (KeyError, TypeError, ValueError):
            raise CorruptCopyError(f"{self.path} is not a last-known-good copy") from None
