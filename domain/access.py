"""Who may do what: roles ordered by power, scopes by environment and area.

A scope string is ``ENV`` (every area of one environment) or ``ENV:AREAS`` where AREAS
is ``AREA[,AREA...]`` or ``*``; ``*`` as ENV means every environment. The text after the
last colon is always AREAS, so an environment whose name has a colon is written
``eu:west:*``. A grant without scopes reaches everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from domain.address import SYSTEM_ENVIRONMENT
from domain.errors import PermissionDeniedError

_ENV = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99})$")
_AREAS = re.compile(r"^(\*|[a-z][a-z0-9_]{0,49}(,[a-z][a-z0-9_]{0,49})*)$")


class Role(IntEnum):
    """Each role can do everything the roles below it can, except revealing secrets:
    that is for ``service`` and ``admin`` only (see :meth:`Grant.may_reveal`).

    ``service`` reads like a reader and never writes: it is the gateway's own token.
    Tokens store roles by name, never by number, so the numbers may change.
    """

    READER = 1
    SERVICE = 2
    WRITER = 3
    ADMIN = 4

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called ``name`` (reader, service, writer, admin); raises ``ValueError``."""
        try:
            return cls[name.upper()]
        except KeyError:
            known = ", ".join(role.label for role in cls)
            raise ValueError(f"unknown role {name!r} (known: {known})") from None

    @property
    def label(self) -> str:
        """The lowercase name used in tokens and messages."""
        return self.name.lower()


#: The roles that may see secrets in plaintext.
REVEALING_ROLES = frozenset({Role.SERVICE, Role.ADMIN})


@dataclass(frozen=True)
class Scope:
    """One environment (or ``*``) and, optionally, the only areas allowed in it."""

    environment: str
    areas: frozenset[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse ``ENV`` or ``ENV:AREAS``; raises ``ValueError`` naming the problem."""
        environment, colon, areas = text.strip().rpartition(":")
        if not colon:
            environment, areas = areas, "*"
        if not (_ENV.fullmatch(environment) and _AREAS.fullmatch(areas)):
            raise ValueError(
                f"invalid scope {text!r}: use ENV or ENV:AREA[,AREA] (ENV or AREA may be *)"
            )
        return cls(environment, None if areas == "*" else frozenset(areas.split(",")))

    def covers(self, environment: str, area: str | None) -> bool:
        """True when the scope reaches ``environment`` and ``area`` (``None``: all areas)."""
        if self.environment not in ("*", environment):
            return False
        return self.areas is None or (area is not None and area in self.areas)


@dataclass(frozen=True)
class Grant:
    """What one caller may do: a role and the scopes it applies in."""

    name: str
    role: Role
    scopes: tuple[Scope, ...] = ()

    def allows(
        self,
        role: Role,
        environment: str | None = None,
        area: str | None = None,
        *,
        any_area: bool = False,
    ) -> bool:
        """True when the grant has ``role`` in ``environment``/``area``.

        ``environment=None`` asks for every environment; ``area=None`` for every area,
        unless ``any_area``, which asks for at least one area of the environment.
        """
        if self.role < role:
            return False
        if not self.scopes:
            return True
        if environment is None:  # every environment: only an unlimited `*` scope reaches it
            return any(s.environment == "*" and s.areas is None for s in self.scopes)
        if any_area:
            return any(s.environment in ("*", environment) for s in self.scopes)
        return any(scope.covers(environment, area) for scope in self.scopes)

    def require(
        self,
        role: Role,
        environment: str | None = None,
        area: str | None = None,
        *,
        any_area: bool = False,
    ) -> None:
        """Like :meth:`allows`, raising :class:`PermissionDeniedError` with the reason."""
        if self.role < role:
            raise PermissionDeniedError(
                f"token {self.name!r} has role {self.role.label}; this needs {role.label}"
            )
        if not self.allows(role, environment, area, any_area=any_area):
            where = environment or "every environment"
            if area:
                where += f", area {area}"
            elif not any_area:
                where += ", every area"
            raise PermissionDeniedError(f"token {self.name!r} is not scoped to {where}")

    def may_reveal(self, environment: str, area: str | None = None) -> bool:
        """True when the grant may see the secrets of ``environment``/``area`` in
        plaintext (``area=None``: of at least one area it sees there): admins within
        their scope, service tokens within the areas they read; never a writer or a
        reader, and never the system environment except for an admin."""
        if self.role not in REVEALING_ROLES:
            return False
        if area is not None:
            return self.sees(environment, area)
        if environment == SYSTEM_ENVIRONMENT and self.role < Role.ADMIN:
            return False
        return self.allows(Role.READER, environment, any_area=True)

    def require_reveal(self, environment: str, area: str | None = None) -> None:
        """Like :meth:`may_reveal`, raising :class:`PermissionDeniedError` with the reason."""
        if self.role not in REVEALING_ROLES:
            raise PermissionDeniedError(
                f"token {self.name!r} has role {self.role.label};"
                " revealing secrets needs service or admin"
            )
        if not self.may_reveal(environment, area):
            where = environment if area is None else f"{environment}, area {area}"
            raise PermissionDeniedError(f"token {self.name!r} may not reveal secrets of {where}")

    def visible_areas(self, environment: str) -> frozenset[str] | None:
        """The areas of ``environment`` a reader of this grant may see; ``None``: all."""
        if environment == SYSTEM_ENVIRONMENT and self.role < Role.ADMIN:
            return frozenset()
        if not self.scopes:
            return None
        found: set[str] = set()
        for scope in self.scopes:
            if scope.environment in ("*", environment):
                if scope.areas is None:
                    return None
                found |= scope.areas
        return frozenset(found)

    def sees(self, environment: str, area: str) -> bool:
        """True when a reader of this grant may see entries of ``environment``/``area``;
        the system environment (tokens) is for admins only."""
        if environment == SYSTEM_ENVIRONMENT and self.role < Role.ADMIN:
            return False
        return self.allows(Role.READER, environment, area)
