"""Roles, scopes and grants: who may do what where."""

from __future__ import annotations

import pytest

from domain.access import Grant, Role, Scope
from domain.address import SYSTEM_ENVIRONMENT
from domain.errors import PermissionDeniedError


@pytest.mark.parametrize(
    ("text", "environment", "areas"),
    [
        ("prod", "prod", None),
        ("prod:router", "prod", {"router"}),
        ("prod:router,provider", "prod", {"router", "provider"}),
        ("*:feature_flag", "*", {"feature_flag"}),
        ("eu:west:router", "eu:west", {"router"}),
        ("eu:west:*", "eu:west", None),
        ("*", "*", None),
    ],
)
def test_scope_parse(text: str, environment: str, areas: set[str] | None) -> None:
    scope = Scope.parse(text)
    assert scope.environment == environment
    assert scope.areas == (frozenset(areas) if areas else None)


@pytest.mark.parametrize("text", ["", "prod:", "prod:Router", "-x", "prod:a,,b", "a b", ":router"])
def test_bad_scopes_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="invalid scope"):
        Scope.parse(text)


def test_roles_are_ordered_and_named() -> None:
    assert Role.READER < Role.WRITER < Role.ADMIN
    assert Role.named("Writer") is Role.WRITER
    with pytest.raises(ValueError, match="unknown role"):
        Role.named("owner")


def test_unscoped_grant_reaches_everything_its_role_allows() -> None:
    grant = Grant("w", Role.WRITER)
    assert grant.allows(Role.WRITER, "prod", "router")
    assert grant.allows(Role.READER)
    assert not grant.allows(Role.ADMIN, "prod", "router")


def test_scoped_grant() -> None:
    grant = Grant("w", Role.WRITER, (Scope.parse("prod:router"), Scope.parse("dev")))
    assert grant.allows(Role.WRITER, "prod", "router")
    assert not grant.allows(Role.WRITER, "prod", "provider")
    assert not grant.allows(Role.WRITER, "prod")  # every area of prod: no
    assert grant.allows(Role.WRITER, "prod", any_area=True)
    assert grant.allows(Role.WRITER, "dev")
    assert not grant.allows(Role.READER, "staging", any_area=True)
    assert not grant.allows(Role.READER)  # every environment: no


def test_a_star_scope_reaches_every_environment() -> None:
    everywhere = Grant("a", Role.ADMIN, (Scope.parse("*"),))
    assert everywhere.allows(Role.ADMIN)
    assert everywhere.sees(SYSTEM_ENVIRONMENT, "access_token")
    routers = Grant("a", Role.ADMIN, (Scope.parse("*:router"),))
    assert not routers.allows(Role.ADMIN)
    assert routers.allows(Role.READER, "any", "router")


def test_require_says_why() -> None:
    grant = Grant("ci", Role.READER, (Scope.parse("prod:router"),))
    with pytest.raises(PermissionDeniedError, match="has role reader; this needs writer"):
        grant.require(Role.WRITER, "prod", "router")
    with pytest.raises(PermissionDeniedError, match="not scoped to prod, area provider"):
        grant.require(Role.READER, "prod", "provider")
    grant.require(Role.READER, "prod", "router")


def test_system_environment_is_for_admins_only() -> None:
    assert not Grant("w", Role.WRITER).sees(SYSTEM_ENVIRONMENT, "access_token")
    assert Grant("a", Role.ADMIN).sees(SYSTEM_ENVIRONMENT, "access_token")
    assert Grant("r", Role.READER).sees("prod", "router")
