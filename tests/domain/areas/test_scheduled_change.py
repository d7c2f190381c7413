"""The ``scheduled_change`` area and the pure rules of scheduling (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from domain.address import Address
from domain.areas import ProviderConfig, RouterConfig
from domain.areas.scheduled_change import SCHEDULE_ID, ScheduledChange, new_schedule_id
from domain.decisions import DecisionRules
from domain.entry import ConfigEntry, Provenance
from domain.errors import InvalidValueError, NotFoundError, VersionConflictError
from domain.scheduling import (
    check_due,
    clip,
    scheduler_provenance,
    sealed_change_value,
    target_after,
)
from domain.secrets import REDACTED, is_sealed
from domain.values import validate

ROUTER = Address("prod", "router", "default")
OPENAI = Address("prod", "provider", "openai")
WHO = Provenance(actor="alice", reason="go live", source="cli", correlation_id="c-1")
SOON = datetime(2030, 1, 1, 12, tzinfo=UTC)
ROUTER_RULES = DecisionRules(RouterConfig)


class FakeCodec:
    """Reversible stand-in for the AES-GCM codec of infrastructure."""

    def seal(self, plaintext: str) -> str:
        return "enc:v1:" + plaintext[::-1]

    def open(self, sealed: str) -> str:
        return sealed.removeprefix("enc:v1:")[::-1]


def change(**fields: Any) -> ScheduledChange:
    base: dict[str, Any] = {
        "environment": "prod",
        "area": "router",
        "key": "default",
        "operation": "set",
        "value": {"max_retries": 5},
        "due_at": SOON.isoformat(),
        "requested_by": "alice",
    }
    return ScheduledChange.model_validate({**base, **fields})


def test_defaults_and_target() -> None:
    made = change()
    assert (made.status, made.result, made.applied_version, made.expected_version) == (
        "pending",
        None,
        None,
        None,
    )
    assert made.target == ROUTER
    assert not made.done
    assert change(status="failed", result="x").done


def test_due_at_is_stored_in_utc_and_must_have_an_offset() -> None:
    made = change(due_at="2030-01-01T14:00:00+02:00")
    assert made.due_at == SOON and made.due_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError) as info:
        change(due_at="2030-01-01T12:00:00")
    assert info.value.errors()[0]["loc"] == ("due_at",)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"operation": "delete"}, "takes no value"),
        ({"operation": "patch", "value": None}, "needs a JSON object"),
        ({"operation": "rename"}, "set"),
        ({"status": "done"}, "pending"),
        ({"status": "applied"}, "applied_version"),
        ({"expected_version": -1}, "greater than or equal"),
        ({"environment": "bad env"}, "pattern"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_rejected(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        change(**fields)
    assert fragment in str(info.value)


def test_ids_and_key_hook() -> None:
    ids = {new_schedule_id() for _ in range(100)}
    assert len(ids) == 100 and all(SCHEDULE_ID.fullmatch(i) for i in ids)
    validate(ScheduledChange, change().model_dump(mode="json"), key=next(iter(ids)))
    with pytest.raises(InvalidValueError) as info:
        validate(ScheduledChange, change().model_dump(mode="json"), key="sch-nothex")
    assert info.value.errors[0].field == "key"


def test_check_due_names_at() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    check_due(now + timedelta(seconds=1), now)
    for bad in (now, now - timedelta(days=1), datetime(2031, 1, 1)):
        with pytest.raises(InvalidValueError) as info:
            check_due(bad, now)
        assert info.value.errors[0].field == "at"
    check_due(datetime(2031, 1, 1, tzinfo=timezone(timedelta(hours=-5))), now)


def test_set_value_is_validated_and_sealed() -> None:
    codec = FakeCodec()
    keys = [{"name": "main", "api_key": "sk-plain"}]
    value = {"provider_type": "openai", "keys": keys}
    stored = sealed_change_value(ProviderConfig, OPENAI, "set", value, current=None, codec=codec)
    assert stored is not None
    assert is_sealed(stored["keys"][0]["api_key"]) and "sk-plain" not in str(stored)
    assert value["keys"][0]["api_key"] == "sk-plain"  # the caller's value is not touched
    with pytest.raises(InvalidValueError) as info:
        sealed_change_value(
            RouterConfig, ROUTER, "set", {"max_retries": 99}, current=None, codec=codec
        )
    assert info.value.errors[0].field == "max_retries"


def test_patch_value_seals_only_what_it_carries() -> None:
    codec = FakeCodec()
    current = ConfigEntry.create(
        OPENAI,
        {"provider_type": "openai", "keys": [{"name": "main", "api_key": codec.seal("old")}]},
        WHO,
        1,
    )
    merge = {"keys": [{"name": "main", "api_key": REDACTED}, {"name": "b", "api_key": "new"}]}
    stored = sealed_change_value(
        ProviderConfig, OPENAI, "patch", merge, current=current, codec=codec
    )
    assert stored == {  # the placeholder stays: it means the secret stored when applied
        "keys": [
            {"name": "main", "api_key": REDACTED},
            {"name": "b", "api_key": codec.seal("new")},
        ]
    }
    assert sealed_change_value(
        ProviderConfig, OPENAI, "patch", {"enabled": False}, current=current, codec=codec
    ) == {"enabled": False}
    with pytest.raises(InvalidValueError):  # on its own, a provider needs provider_type
        sealed_change_value(
            ProviderConfig, OPENAI, "patch", {"enabled": False}, current=None, codec=codec
        )


def test_delete_takes_no_value_and_values_are_objects() -> None:
    assert (
        sealed_change_value(RouterConfig, ROUTER, "delete", None, current=None, codec=None) is None
    )
    with pytest.raises(InvalidValueError):
        sealed_change_value(RouterConfig, ROUTER, "delete", {}, current=None, codec=None)
    with pytest.raises(InvalidValueError) as info:
        sealed_change_value(RouterConfig, ROUTER, "patch", [1], current=None, codec=None)
    assert info.value.errors[0].field == "patch"


def test_target_after_each_operation() -> None:
    who = scheduler_provenance("sch-0123456789ab", change(reason="night"))
    assert (who.actor, who.source, who.correlation_id) == ("alice", "scheduler", "sch-0123456789ab")
    assert who.reason == "scheduled change sch-0123456789ab: night"
    created = target_after(ROUTER_RULES, change(), None, who=who)
    assert (created.version, created.value) == (1, {"max_retries": 5})
    patched = target_after(
        ROUTER_RULES,
        change(operation="patch", value={"max_retries": 1}),
        created,
        who=who,
    )
    assert (patched.version, patched.value) == (2, {"max_retries": 1})
    deleted = target_after(ROUTER_RULES, change(operation="delete", value=None), patched, who=who)
    assert (deleted.version, deleted.deleted) == (3, True)
    with pytest.raises(NotFoundError):
        target_after(ROUTER_RULES, change(operation="delete", value=None), deleted, who=who)
    with pytest.raises(NotFoundError):
        target_after(ROUTER_RULES, change(operation="patch"), None, who=who)


def test_target_after_checks_the_expected_version() -> None:
    who = scheduler_provenance("sch-0123456789ab", change())
    with pytest.raises(VersionConflictError):
        target_after(ROUTER_RULES, change(expected_version=2), None, who=who)
    assert target_after(ROUTER_RULES, change(expected_version=0), None, who=who)


def test_clip() -> None:
    assert clip("x" * 10) == "x" * 10
    assert len(clip("x" * 5000)) == 2000
