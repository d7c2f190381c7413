"""The ``access_token`` area: an API token of the HTTP server, stored as its hash only.

Tokens live in the reserved system environment, so creating and revoking them are
events in the same log (and audit trail) as configuration changes.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, field_validator

from domain.access import Scope
from domain.areas.base import AreaModel

TOKEN_PREFIX = "cct_"  # noqa: S105 (a prefix, not a secret)


def generate_token(name: str) -> str:
    """A new plaintext token for ``name``: ``cct_NAME.SECRET`` (43 URL-safe characters);
    the name inside lets a server find the token's entry without scanning."""
    return f"{TOKEN_PREFIX}{name}.{secrets.token_urlsafe(32)}"


def token_name(token: str) -> str | None:
    """The name inside a plaintext token, or ``None`` when it is not one of ours."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    name, dot, secret = token[len(TOKEN_PREFIX) :].rpartition(".")
    return name if dot and name and len(secret) >= 32 else None


def hash_token(token: str) -> str:
    """Lowercase hex SHA-256 of a plaintext token, as stored in ``token_hash``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccessToken(AreaModel):
    """A bearer token: its role, its scopes and when it expires."""

    area_name: ClassVar[str] = "access_token"
    summary: ClassVar[str] = "An HTTP API token (hash only) with a role and scopes"

    role: Literal["reader", "service", "writer", "admin"] = Field(
        description="What the token may do (service: read its scope with secrets revealed)."
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="ENV or ENV:AREA[,AREA] (ENV may be *); empty means everything.",
    )
    token_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="Lowercase hex SHA-256 of the token."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Expiry time, with a UTC offset; none means never."
    )
    description: str | None = Field(default=None, max_length=500, description="Free text.")

    @field_validator("scopes")
    @classmethod
    def _valid_scopes(cls, scopes: list[str]) -> list[str]:
        for scope in scopes:
            Scope.parse(scope)
        return scopes
