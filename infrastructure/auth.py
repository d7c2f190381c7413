"""API tokens: created, listed and revoked as entries of the system environment, and
checked on every HTTP request.

A token is ``cct_NAME.SECRET``; the store keeps only its SHA-256, so a leaked database
or export does not leak a usable token.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.access import Grant, Role, Scope
from domain.address import SYSTEM_ENVIRONMENT, Address, InvalidAddressError, check_name
from domain.areas.access_token import AccessToken, generate_token, hash_token, token_name
from domain.entry import Provenance
from domain.errors import EntryStateError, InvalidValueError, NotFoundError, VersionConflictError
from domain.parsing import MalformedInputError, in_utc
from infrastructure.errors import AuthenticationError
from infrastructure.store import ConfigStore
from infrastructure.store.views import WriteResult

TOKEN_AREA = AccessToken.area_name
BOOTSTRAP_NAME = "admin"


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its plaintext, never its hash."""

    name: str
    role: str
    scopes: list[str]
    expires_at: datetime | None
    description: str | None
    version: int
    updated_at: datetime | None
    updated_by: str


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the plaintext is in this object only, shown once."""

    name: str
    role: str
    token: str
    write: WriteResult


def token_address(name: str) -> Address:
    """Where the token called ``name`` is stored; raises for a malformed name."""
    return Address(SYSTEM_ENVIRONMENT, TOKEN_AREA, check_name("token name", name))


def _future(moment: datetime) -> datetime:
    """``moment`` in UTC; :class:`InvalidValueError` unless it is later than now (a token
    that expires at once is a mistake, not a token)."""
    try:
        utc = in_utc(moment, name="expires_at")
    except MalformedInputError as exc:
        raise InvalidValueError.single("expires_at", exc.problem) from None
    if utc <= datetime.now(UTC):
        raise InvalidValueError.single("expires_at", f"{utc.isoformat()} is not in the future")
    return utc


class TokenService:
    """Issue, list, revoke and check tokens.

    Checks are cached per token name for ``cache_seconds``: a revocation made by this
    process applies at once, one made by another instance within that time.
    """

    def __init__(self, *, store: ConfigStore, cache_seconds: float = 1.0) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, AccessToken | None]] = {}
        self._lock = threading.Lock()

    def create(
        self,
        name: str,
        *,
        role: str,
        provenance: Provenance,
        scopes: list[str] | None = None,
        expires_at: datetime | None = None,
        description: str | None = None,
    ) -> IssuedToken:
        """Create a token; raises :class:`InvalidValueError` for a bad field (also an
        ``expires_at`` not in the future) and :class:`EntryStateError` when the name is
        taken (revoked names stay taken)."""
        address = token_address(name)
        plaintext = generate_token(name)
        value: dict[str, Any] = {"role": role, "token_hash": hash_token(plaintext)}
        if scopes:
            value["scopes"] = scopes
        if expires_at is not None:
            value["expires_at"] = _future(expires_at).isoformat()
        if description is not None:
            value["description"] = description
        try:
            result = self._store.set(address, value, provenance=provenance, expected_version=0)
        except VersionConflictError:
            raise EntryStateError(
                f"a token named {name!r} exists or was revoked; choose another name"
            ) from None
        self._forget(name)
        return IssuedToken(name=name, role=role, token=plaintext, write=result)

    def revoke(self, name: str, *, provenance: Provenance) -> WriteResult:
        """Revoke a token; raises :class:`NotFoundError` (also when already revoked)."""
        address = token_address(name)
        try:
            result = self._store.delete(address, provenance=provenance)
        except NotFoundError:
            known = self._store.load(address) is not None
            what = f"token {name!r} is already revoked" if known else f"no token named {name!r}"
            raise NotFoundError(what) from None
        self._forget(name)
        return result

    def list(self) -> list[TokenInfo]:
        """Live (not revoked) tokens, by name; expired ones included."""
        views = self._store.list_entries(SYSTEM_ENVIRONMENT, TOKEN_AREA)
        infos = []
        for view in views:
            token = AccessToken.model_validate(view.stored)
            infos.append(
                TokenInfo(
                    name=view.address.key,
                    role=token.role,
                    scopes=list(token.scopes),
                    expires_at=token.expires_at,
                    description=token.description,
                    version=view.version,
                    updated_at=view.recorded_at,
                    updated_by=view.actor,
                )
            )
        return infos

    def any_exist(self) -> bool:
        """True when a token was ever created (even if revoked since)."""
        # The system environment also holds scheduled changes: count tokens only.
        labels = (label for _, label in self._store.index.entries(SYSTEM_ENVIRONMENT))
        return any(label.startswith(f"{SYSTEM_ENVIRONMENT}:{TOKEN_AREA}/") for label in labels)

    def bootstrap(self, *, provenance: Provenance) -> IssuedToken | None:
        """Create the first admin token when the store has none; ``None`` otherwise
        (also when another process created it at the same moment)."""
        if self.any_exist():
            return None
        try:
            return self.create(
                BOOTSTRAP_NAME,
                role="admin",
                provenance=provenance,
                description="created by init: the first admin token",
            )
        except EntryStateError:
            return None

    def authenticate(self, authorization: str | None) -> Grant:
        """The grant of an ``Authorization: Bearer`` header value.

        Raises :class:`AuthenticationError` saying what is wrong, never which part of a
        presented token was.
        """
        if not authorization:
            raise AuthenticationError("missing Authorization: Bearer <token> header")
        scheme, _, presented = authorization.partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        return self.grant_of(token_name(presented), hash_token(presented))

    def grant_of(self, name: str | None, token_hash: str) -> Grant:
        """The grant of the token called ``name`` whose SHA-256 is ``token_hash``: the
        checks of :meth:`authenticate` for a caller that keeps a token's hash, never the
        token (a console session). Raises :class:`AuthenticationError` when the token is
        unknown, revoked, replaced or expired."""
        token = self._lookup(name) if name else None
        if token is None or not hmac.compare_digest(token.token_hash, token_hash):
            raise AuthenticationError("unknown or revoked token")
        if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
            raise AuthenticationError("the token has expired")
        assert name is not None
        return Grant(
            name=name,
            role=Role.named(token.role),
            scopes=tuple(Scope.parse(s) for s in token.scopes),
        )

    def _lookup(self, name: str) -> AccessToken | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            address = token_address(name)
        except InvalidAddressError:
            return None
        entry = self._store.load(address)
        token = None if entry is None or entry.deleted else AccessToken.model_validate(entry.value)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[name] = (now + self._cache_seconds, token)
        return token

    def _forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)
