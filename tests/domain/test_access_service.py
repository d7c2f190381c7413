"""The service role: reads like a reader, never writes, never reaches the system
environment, and (with admins) may reveal secrets within its scope."""

from __future__ import annotations

import pytest

from domain.access import Grant, Role, Scope
from domain.address import SYSTEM_ENVIRONMENT
from domain.errors import PermissionDeniedError

GATEWAY = Grant("gateway", Role.SERVICE, (Scope.parse("prod:provider,model_mapping"),))


def test_roles_by_name_and_power() -> None:
    assert [role.label for role in Role] == ["reader", "service", "writer", "admin"]
    assert Role.named("service") is Role.SERVICE
    with pytest.raises(ValueError, match="known: reader, service, writer, admin"):
        Role.named("root")


def test_service_reads_its_scope_and_never_writes() -> None:
    assert GATEWAY.allows(Role.READER, "prod", "provider")
    assert GATEWAY.allows(Role.READER, "prod", any_area=True)
    assert not GATEWAY.allows(Role.READER, "prod", "router")
    assert not GATEWAY.allows(Role.READER, "staging", "provider")
    for area in ("provider", "router"):
        assert not GATEWAY.allows(Role.WRITER, "prod", area)
    with pytest.raises(PermissionDeniedError, match="has role service; this needs writer"):
        GATEWAY.require(Role.WRITER, "prod", "provider")
    assert not Grant("s", Role.SERVICE).allows(Role.WRITER, "prod", "provider")


def test_service_never_reaches_the_system_environment() -> None:
    unscoped = Grant("s", Role.SERVICE)
    everywhere = Grant("s", Role.SERVICE, (Scope.parse("*"),))
    for grant in (unscoped, everywhere):
        assert not grant.sees(SYSTEM_ENVIRONMENT, "access_token")
        assert grant.visible_areas(SYSTEM_ENVIRONMENT) == frozenset()
        assert not grant.may_reveal(SYSTEM_ENVIRONMENT, "access_token")
        assert not grant.may_reveal(SYSTEM_ENVIRONMENT)
        assert not grant.allows(Role.ADMIN)


@pytest.mark.parametrize(
    ("grant", "environment", "area", "allowed"),
    [
        (GATEWAY, "prod", "provider", True),
        (GATEWAY, "prod", "model_mapping", True),
        (GATEWAY, "prod", None, True),
        (GATEWAY, "prod", "router", False),
        (GATEWAY, "staging", "provider", False),
        (GATEWAY, "staging", None, False),
        (Grant("a", Role.ADMIN), "prod", "provider", True),
        (Grant("a", Role.ADMIN), SYSTEM_ENVIRONMENT, "access_token", True),
        (Grant("a", Role.ADMIN, (Scope.parse("prod:router"),)), "prod", "provider", False),
        (Grant("w", Role.WRITER), "prod", "provider", False),
        (Grant("r", Role.READER), "prod", "provider", False),
        (Grant("r", Role.READER), "prod", None, False),
    ],
)
def test_may_reveal(grant: Grant, environment: str, area: str | None, allowed: bool) -> None:
    assert grant.may_reveal(environment, area) is allowed
    if allowed:
        grant.require_reveal(environment, area)
    else:
        with pytest.raises(PermissionDeniedError, match=repr(grant.name)):
            grant.require_reveal(environment, area)


def test_a_writer_is_told_why_it_may_not_reveal() -> None:
    with pytest.raises(PermissionDeniedError, match="revealing secrets needs service or admin"):
        Grant("w", Role.WRITER).require_reveal("prod", "provider")
